"""Where zoo finds the shared data sets and pretrained checkpoints, and puts exported models."""
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
    """Return the default export home, ``saved_models/`` at the project root."""
    return PROJECT_ROOT / "saved_models"
