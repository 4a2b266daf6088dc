"""Where zoo finds data sets (shared, and the one it ships) and checkpoints, and puts exported models and reports."""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

DATA_DIR_ENV = "ZOO_DATA_DIR"
CHECKPOINT_DIR_ENV = "ZOO_CHECKPOINT_DIR"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir():
    """Return the directory holding the shared data sets (``mr/``, ``trec/``, ``subj/``, ``sms_spam/``).

    ``$ZOO_DATA_DIR`` wins; otherwise ``../shared/data`` next to the project checkout.
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return (PROJECT_ROOT.parent / "shared" / "data").resolve()


def embedded_data_dir():
    """Return the folder of the data sets shipped inside the package (``mr/``, compressed, with its licence)."""
    return Path(__file__).resolve().parent / "data" / "builtin"


def external_set_dir(name):
    """Return ``$ZOO_DATA_DIR/<name>`` when the variable is set and that folder exists, else ``None``."""
    env = os.environ.get(DATA_DIR_ENV)
    folder = Path(env).expanduser().resolve() / name if env else None
    return folder if folder is not None and folder.is_dir() else None


def checkpoint_dir():
    """Return the directory holding shared pretrained checkpoints (``all-MiniLM-L6-v2/``), for tests and benchmarks.

    ``$ZOO_CHECKPOINT_DIR`` wins; otherwise ``../shared/checkpoints`` next to the project checkout. zoo itself
    reads a checkpoint only from the path it is given.
    """
    env = os.environ.get(CHECKPOINT_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return (PROJECT_ROOT.parent / "shared" / "checkpoints").resolve()


def saved_models_dir():
    """Return the default export home, ``saved_models/`` in the current directory (as ``runs/`` for runs).

    Not next to the package: an installed zoo lives in site-packages.
    """
    return Path("saved_models")


class OutputPathError(ValueError):
    """An output file or directory that cannot be created or written; the message names it and how to fix it."""


def creatable_problem(directory):
    """Return why ``directory`` neither exists nor can be created (e.g. ``"out is a file, not a directory"``), or None.

    The nearest existing ancestor must be a directory that accepts a new sub-directory; a throw-away one is
    made and removed to find out, since permission bits do not tell (``/proc`` refuses even root).

    Example:
        >>> _ = Path("notes.txt").write_text("")
        >>> creatable_problem("notes.txt/report")
        'notes.txt is a file, not a directory'
        >>> creatable_problem("reports/2024") is None
        True
    """
    directory = Path(directory)
    if directory.is_dir():
        return None
    ancestor = next(p for p in [directory, *directory.parents] if p.exists() or p == p.parent)
    if ancestor.exists() and not ancestor.is_dir():
        return f"{ancestor} is a file, not a directory"
    try:
        probe = tempfile.mkdtemp(prefix=".zoo-probe-", dir=ancestor)
    except OSError as err:
        return f"{ancestor} does not accept new directories ({err.strerror})"
    os.rmdir(probe)
    return None


def check_output(path, fix, *, is_file=False):
    """Raise ``OutputPathError`` unless ``path`` can be written, before any work is done; nothing is left behind.

    Args:
        path: the output directory (with ``is_file``, the output file: its directory must be creatable).
        fix: how to fix it, e.g. ``"set out_dir (--out) to a directory you can write"``.
        is_file: ``path`` is a file.

    Example:
        >>> _ = Path("notes.txt").write_text("")
        >>> check_output("notes.txt/report", "set out_dir (--out) to a directory you can write")
        Traceback (most recent call last):
            ...
        zoo.paths.OutputPathError: cannot write notes.txt/report: notes.txt is a file, not a directory; set out_dir ...
    """
    path = Path(path)
    if is_file and path.is_dir():
        why = f"{path} is a directory"
    else:
        why = creatable_problem(path.parent if is_file else path)
    if why:
        raise OutputPathError(f"cannot write {path}: {why}; {fix}")


@contextmanager
def output_errors(path, fix):
    """Turn an ``OSError`` on ``path``, on a file under it or on a directory it needs into ``OutputPathError``.

    Other ``OSError``s (reading an input, say) pass through unchanged.

    Args:
        path: the output file or directory being written.
        fix: how to fix it, e.g. ``"set out_dir (--out) to a directory you can write"``.

    Example:
        >>> _ = Path("report").write_text("")
        >>> with output_errors("report", "set out_dir (--out) to a directory you can write"):
        ...     _ = Path("report/summary.txt").write_text("ok")
        Traceback (most recent call last):
            ...
        zoo.paths.OutputPathError: cannot write report: Not a directory (report/summary.txt); set out_dir ...
    """
    path = Path(path)
    try:
        yield
    except OSError as err:
        failed = Path(os.fsdecode(err.filename)) if err.filename is not None else None
        if failed is None or not (failed.is_relative_to(path) or path.is_relative_to(failed)):
            raise
        raise OutputPathError(f"cannot write {path}: {err.strerror} ({failed}); {fix}") from None
