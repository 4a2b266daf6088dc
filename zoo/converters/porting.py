"""Copy checkpoint arrays into model variables, all checked first: every problem is reported, nothing half-loaded.

A converter describes each model variable as a ``Transfer``: the checkpoint keys it reads and how the arrays
become the variable's value (a transpose, a concatenation). ``port`` checks that every key exists, that every
shape fits, that every checkpoint weight is used (or is one the task may leave, such as a pretraining head)
and that every model variable is filled; then it assigns.
"""
import dataclasses

import numpy as np

from zoo.converters.errors import WeightMismatchError

_LISTED = 12


@dataclasses.dataclass(frozen=True)
class Transfer:
    """One model variable and how to compute it from checkpoint arrays.

    Args:
        variable: The ``keras.Variable`` to fill.
        keys: The checkpoint keys it reads, in the order ``convert`` takes them.
        convert: ``f(*arrays) -> array``; ``None`` copies the single array as it is.

    Example:
        >>> dense = keras.layers.Dense(2, name="pooler")
        >>> dense.build((None, 3))
        >>> transfer = Transfer(dense.kernel, ("pooler.dense.weight",), np.transpose)
        >>> transfer.value({"pooler.dense.weight": np.ones((2, 3))}).shape
        (3, 2)
    """

    variable: object
    keys: tuple
    convert: object = None

    def value(self, checkpoint):
        arrays = [checkpoint[key] for key in self.keys]
        return arrays[0] if self.convert is None else self.convert(*arrays)


@dataclasses.dataclass
class PortReport:
    """What ``port`` did: ``filled`` model variable paths and the checkpoint keys left unused on purpose.

    ``ignored`` maps each reason (e.g. "the masked-LM head, which this task does not use") to its keys.
    """

    filled: list
    ignored: dict


def _listing(items):
    items = sorted(items)
    more = f" ... and {len(items) - _LISTED} more" if len(items) > _LISTED else ""
    return ", ".join(items[:_LISTED]) + more


def port(transfers, checkpoint, variables, *, unused_allowed=(), source):
    """Check every transfer against ``checkpoint`` and ``variables``, then assign them all.

    Args:
        transfers: ``Transfer``s, one per model variable to fill.
        checkpoint: ``{key: numpy array}``.
        variables: Every variable the checkpoint must fill (e.g. ``backbone.weights``); one without a transfer
            is an error.
        unused_allowed: ``(prefix, reason)`` pairs: checkpoint keys starting with ``prefix`` may stay unused.
        source: The checkpoint file or folder, for messages.

    Returns:
        A ``PortReport``.

    Raises:
        WeightMismatchError: Naming every missing key, wrong shape, unused checkpoint weight and unfilled
            model variable.

    Example:
        >>> layer = keras.layers.Dense(2, use_bias=False, name="dense")
        >>> layer.build((None, 3))
        >>> checkpoint = {"w": np.ones((2, 3))}
        >>> port([Transfer(layer.kernel, ("w",), np.transpose)], checkpoint, layer.weights, source="model.safetensors")
        PortReport(filled=['dense/kernel'], ignored={})
        >>> port([], checkpoint, layer.weights, source="model.safetensors")
        Traceback (most recent call last):
        ...
        zoo.converters.errors.WeightMismatchError: model.safetensors: the checkpoint does not fit the model: model
        weights that no checkpoint weight fills: dense/kernel; checkpoint weights that this model does not use: w
    """
    problems, values, used = [], [], set()
    for transfer in transfers:
        missing = [key for key in transfer.keys if key not in checkpoint]
        used.update(transfer.keys)
        if missing:
            problems.append(f"{transfer.variable.path} needs {_listing(missing)}, which the checkpoint lacks")
            continue
        value = np.asarray(transfer.value(checkpoint))
        expected = tuple(transfer.variable.shape)
        if value.shape != expected:
            shapes = ", ".join(f"{key} {list(checkpoint[key].shape)}" for key in transfer.keys)
            problems.append(f"{transfer.variable.path} has shape {list(expected)}, but {shapes} give "
                            f"{list(value.shape)}")
            continue
        values.append((transfer.variable, value))

    targeted = {id(t.variable) for t in transfers}
    unfilled = [v.path for v in variables if id(v) not in targeted]
    if unfilled:
        problems.append(f"model weights that no checkpoint weight fills: {_listing(unfilled)}")
    ignored = {}
    unused = []
    for key in checkpoint:
        if key in used:
            continue
        reason = next((why for prefix, why in unused_allowed if key.startswith(prefix)), None)
        if reason is None:
            unused.append(key)
        else:
            ignored.setdefault(reason, []).append(key)
    if unused:
        problems.append(f"checkpoint weights that this model does not use: {_listing(unused)}")
    if problems:
        raise WeightMismatchError("the checkpoint does not fit the model: " + "; ".join(problems), path=source)
    for variable, value in values:
        variable.assign(value.astype(variable.dtype))
    return PortReport(filled=[variable.path for variable, _ in values], ignored=ignored)


def linear(weight):
    """A PyTorch ``Linear.weight`` ``[out, in]`` as a Keras kernel ``[in, out]``."""
    return np.transpose(weight)


def fused_linear(*weights):
    """PyTorch ``Linear.weight``s side by side as one Keras kernel: ``concat([w.T for w in weights], axis=1)``."""
    return np.concatenate([np.transpose(w) for w in weights], axis=1)


def fused_bias(*biases):
    """Biases side by side, matching ``fused_linear``."""
    return np.concatenate(biases)
