"""Errors a pretrained checkpoint folder can cause: each names the file, the key or the weights."""


class CheckpointError(ValueError):
    """A checkpoint zoo cannot load: a bad config value, an unsupported architecture, weights that do not fit.

    ``path`` is the file at fault and ``key`` the config key or weight name, when there is one.
    """

    def __init__(self, message, *, path=None, key=None):
        self.path = None if path is None else str(path)
        self.key = key
        where = ", ".join(part for part in (self.path, None if key is None else f"key {key!r}") if part)
        super().__init__(f"{where}: {message}" if where else message)


class UnsupportedCheckpointError(CheckpointError):
    """A format, ``model_type``, activation or option that zoo does not import; the message lists the supported ones."""


class WeightMismatchError(CheckpointError):
    """Checkpoint weights and model weights that do not pair up: unused, unfilled or of the wrong shape."""


class CheckpointFileNotFoundError(FileNotFoundError):
    """A checkpoint folder, or a file it must hold, that does not exist."""

    def __init__(self, message, *, path=None):
        self.path = None if path is None else str(path)
        super().__init__(message)

    def __str__(self):
        return self.args[0]


def config_rate(value, key, path):
    """A config's dropout rate as a float, or a ``CheckpointError`` naming the file and key unless in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise CheckpointError(f"{key} must be a number in [0, 1), not {value!r}", path=path, key=key)
    return float(value)


# How a Git LFS pointer file begins: what a clone of a model repository without git-lfs holds instead of weights.
_LFS_POINTER = b"version https://git-lfs"


def unreadable_weights(path, kind, error):
    """The error for a weights file (of format ``kind``) that does not open; a Git LFS pointer is named as one."""
    with open(path, "rb") as file:
        pointer = file.read(len(_LFS_POINTER)) == _LFS_POINTER
    if pointer:
        return CheckpointError("a Git LFS pointer, not the weights: the folder was cloned without git-lfs; fetch the "
                               "weights (git lfs install, then git lfs pull in the clone)", path=path)
    return CheckpointError(f"cannot read {kind} weights ({error})", path=path)
