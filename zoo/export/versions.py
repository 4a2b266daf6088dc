"""TF Serving's versioned layout: ``<base>/<name>/<n>/`` with integer versions, the newest served."""
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from zoo.paths import check_output, saved_models_dir

# The version folder names zoo writes and reads: ASCII digits, no leading zero.
VERSION_NAME = re.compile(r"[1-9][0-9]*")
EXPORT_FIX = "set out (--out) to a directory you can write"


class ExportPathError(ValueError):
    """An export destination that cannot be used (version taken, not a version number, ...)."""


def _numbered(base):
    """``{folder name: version}`` of every folder under ``base`` named by ASCII digits, ``01`` and ``0`` included.

    TF Serving reads any such name as a version number (``01`` is version 1), so each spelling takes its number.
    """
    if not base.is_dir():
        return {}
    return {p.name: int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isascii() and p.name.isdigit()}


def versions(base_dir):
    """Return the versions under ``base_dir`` (folders named ``1``, ``2``, ...), ascending (empty when none).

    Args:
        base_dir: a model's directory, e.g. ``saved_models/reviews``.

    Example:
        >>> versions("saved_models/reviews")
        [1]
        >>> versions("saved_models/new-model")
        []
    """
    return sorted(v for name, v in _numbered(Path(base_dir)).items() if VERSION_NAME.fullmatch(name))


def next_version(base_dir):
    """Return one more than the highest version under ``base_dir``, however spelled (1 for a new model).

    Example:
        >>> next_version("saved_models/new-model")
        1
    """
    return max(_numbered(Path(base_dir)).values(), default=0) + 1


def latest_version_dir(base_dir):
    """Return the newest ``<base_dir>/<n>`` directory, or ``None`` when there is none.

    Example:
        >>> latest_version_dir("saved_models/reviews")
        PosixPath('saved_models/reviews/1')
    """
    found = versions(base_dir)
    return Path(base_dir) / str(found[-1]) if found else None


def unfinished_version(base_dir):
    """Return the error message for a model directory whose newest version has no ``saved_model.pb``, else ``None``.

    Args:
        base_dir: a model's directory, e.g. ``saved_models/reviews``.

    Example:
        >>> _ = Path("saved_models/reviews/2").mkdir()
        >>> unfinished_version("saved_models/reviews")
        'saved_models/reviews/2, the newest version of saved_models/reviews, has no saved_model.pb (an export that \
did not finish, or a partial copy); export the run again or remove saved_models/reviews/2'
    """
    latest = latest_version_dir(base_dir)
    if latest is None or (latest / "saved_model.pb").is_file():
        return None
    return (f"{latest}, the newest version of {base_dir}, has no saved_model.pb (an export that did not finish, or a "
            f"partial copy); export the run again or remove {latest}")


def enclosing_run(path):
    """Return the zoo run directory (one holding ``config.yaml`` and ``model.json``) at ``path`` or above it, or
    ``None``.

    Args:
        path: a file or directory, which need not exist.

    Example:
        >>> enclosing_run("runs/reviews/exported/1") == Path("runs/reviews").absolute()
        True
        >>> enclosing_run("saved_models/reviews/1") is None
        True
    """
    path = Path(os.path.abspath(path))
    return next((folder for folder in (path, *path.parents)
                 if (folder / "config.yaml").is_file() and (folder / "model.json").is_file()), None)


def resolve_export_dir(out=None, *, name):
    """Choose the directory a new export goes to.

    ``out`` ending in a version number (``saved_models/reviews/3``: ASCII digits, no leading zero) is used as given
    and its number must not exist yet under any spelling (``03``); any other ``out`` is a model directory that
    gets the next version; without ``out`` it is ``saved_models/<name>/<next version>``. The destination must be
    creatable and outside any zoo run directory (``enclosing_run``): this is checked before any export work.

    Args:
        out: an explicit destination, or ``None``.
        name: the model name used when ``out`` is ``None``.

    Returns:
        ``(path, version)``.

    Example:
        >>> resolve_export_dir(name="reviews")
        (PosixPath('saved_models/reviews/2'), 2)
        >>> resolve_export_dir("saved_models/reviews/1", name="reviews")
        Traceback (most recent call last):
            ...
        zoo.export.versions.ExportPathError: export destination saved_models/reviews/1 already exists; ...
    """
    if out is None:
        if not name or "/" in name or name in (".", ".."):
            raise ExportPathError(f"export name must be a plain directory name, got {name!r}")
        base = saved_models_dir() / name
    else:
        out = Path(out)
        if VERSION_NAME.fullmatch(out.name):
            version = int(out.name)
            spelled = (out.parent / folder for folder, v in _numbered(out.parent).items() if v == version)
            existing = out if out.exists() else next(spelled, None)
            if existing is not None:
                raise ExportPathError(
                    f"export destination {out} already exists{'' if existing == out else f' as {existing}'}; "
                    f"TF Serving treats versions as immutable, use {out.parent / str(next_version(out.parent))} "
                    "or omit the version"
                )
            return _checked(out), version
        if out.name.isdigit():
            # Not a version zoo would list ("0", "01") or that TF Serving reads ("²", "٣"): refused, not taken
            # for a model directory's name.
            raise ExportPathError(f"export version must be a positive integer in ASCII digits without a leading "
                                  f"zero (1, 2, ...), got {out.name!r} in {out}")
        base = out
    version = next_version(base)
    return _checked(base / str(version)), version


def _checked(path):
    """``path`` once checked: creatable, and outside any run directory (the export's numbered folders would mix
    with the run's files, and ``zoo predict RUN`` would read the export instead of the run)."""
    run = enclosing_run(path)
    if run is not None:
        raise ExportPathError(f"export destination {path} is inside the run directory {run}; set out (--out) to a "
                              "directory outside it (default: saved_models/NAME)")
    check_output(path, EXPORT_FIX)
    return path


@contextmanager
def atomic_directory(final):
    """Yield a temporary sibling directory that is renamed to ``final`` only when the block succeeds.

    TF Serving polls the model directory: a half-written numeric version would be picked up and
    fail to load, so the export is written under a hidden, non-numeric name first.

    Example:
        >>> with atomic_directory("saved_models/demo/1") as tmp:
        ...     _ = (tmp / "notes.txt").write_text("written")
        >>> [p.name for p in Path("saved_models/demo").iterdir()]
        ['1']
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
