"""TF Serving's versioned layout: ``<base>/<name>/<n>/`` with integer versions, the newest served."""
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from zoo.paths import saved_models_dir


class ExportPathError(ValueError):
    """An export destination that cannot be used (version taken, not a version number, ...)."""


def versions(base_dir):
    """Return the integer versions present under ``base_dir``, ascending (empty when it does not exist).

    Args:
        base_dir: a model's directory, e.g. ``saved_models/mr``.

    Example:
        >>> versions("saved_models/mr")
        [1, 2]
    """
    base = Path(base_dir)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())


def next_version(base_dir):
    """Return one more than the highest version under ``base_dir`` (1 for a new model).

    Example:
        >>> next_version("saved_models/new-model")
        1
    """
    found = versions(base_dir)
    return found[-1] + 1 if found else 1


def latest_version_dir(base_dir):
    """Return the newest ``<base_dir>/<n>`` directory, or ``None`` when there is none.

    Example:
        >>> latest_version_dir("saved_models/mr")
        PosixPath('saved_models/mr/2')
    """
    found = versions(base_dir)
    return Path(base_dir) / str(found[-1]) if found else None


def resolve_export_dir(out=None, *, name):
    """Choose the directory a new export goes to.

    ``out`` ending in a number (``saved_models/mr/3``) is used as given and must not exist yet;
    any other ``out`` is a model directory that gets the next version; without ``out`` it is
    ``saved_models/<name>/<next version>``.

    Args:
        out: an explicit destination, or ``None``.
        name: the model name used when ``out`` is ``None``.

    Returns:
        ``(path, version)``.

    Example:
        >>> resolve_export_dir(name="mr")
        (PosixPath('.../saved_models/mr/1'), 1)
    """
    if out is None:
        if not name or "/" in name or name in (".", ".."):
            raise ExportPathError(f"export name must be a plain directory name, got {name!r}")
        base = saved_models_dir() / name
    else:
        out = Path(out)
        if out.name.isdigit():
            version = int(out.name)
            if version < 1:
                raise ExportPathError(f"export version must be a positive integer, got {out.name!r} in {out}")
            if out.exists():
                raise ExportPathError(
                    f"export destination {out} already exists; TF Serving treats versions as immutable, "
                    f"use {out.parent / str(next_version(out.parent))} or omit the version"
                )
            return out, version
        base = out
    version = next_version(base)
    return base / str(version), version


@contextmanager
def atomic_directory(final):
    """Yield a temporary sibling directory that is renamed to ``final`` only when the block succeeds.

    TF Serving polls the model directory: a half-written numeric version would be picked up and
    fail to load, so the export is written under a hidden, non-numeric name first.

    Example:
        >>> with atomic_directory(Path("saved_models/mr/3")) as tmp:
        ...     (tmp / "file").write_text("x")
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            raise ExportPathError(f"export destination {final} appeared while exporting; nothing was overwritten")
        os.rename(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
