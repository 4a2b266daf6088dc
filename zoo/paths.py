"""Where zoo finds data sets (shared, and the one it ships) and checkpoints, and puts exported models."""
import os
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
