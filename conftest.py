"""Suite set-up: the order files are handed to the workers, and the folder each docstring example runs in.

Files holding a ``slow`` test are collected first. pytest-xdist (``--dist loadfile --no-loadscope-reorder`` in
pytest.ini) hands files to its two workers in collection order, so the long ones (the JAX run of the layer
tests, the real fine-tuning runs) start at once and the many short files fill in around them. Its default
order, files with the most tests first, left the one-test JAX file (~4 minutes) for the end with the other
worker idle.

Every docstring example under ``zoo/`` runs in the suite, each in a fresh folder.

An example runs with ``np``, ``tf``, ``keras``, ``ops`` and ``zoo`` imported, the Keras seed set to 0, and a
new temporary folder as the current directory. The folder holds what examples name:

- ``reviews.jsonl``: 400 labelled English sentences (``text``, ``label``: negative/positive);
- ``runs/reviews``: a finished ``zoo.train`` run on it (1-layer ``transformer-tiny``, 6 epochs);
- ``saved_models/reviews/1``: that run exported (``zoo export``);
- ``checkpoints/all-MiniLM-L6-v2``: the shared checkpoint (a link), when present.

The run and the export are built once per test process, and only when an example names them; each example
gets its own copy, so one that exports or deletes leaves the next unchanged. An example that names the shared
checkpoint or a shared data set other than the embedded MR is skipped, saying why, when that is absent.
"""
import shutil
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem

WORKSPACE_FILES = ("reviews.jsonl", "runs/reviews", "saved_models/reviews")
CHECKPOINT = "all-MiniLM-L6-v2"
# What an example writes to name the shared checkpoint (a run's own ``runs/reviews/checkpoints/`` is not it).
CHECKPOINT_PATH = f"checkpoints/{CHECKPOINT}"
_BUILT = {}


def _workspace(tmp_path_factory):
    """Build the shared files once per process; returns their folder."""
    if "root" not in _BUILT:
        from tests.export.tiny import sentiment_texts, write_jsonl
        from zoo.export.saved_model import export_run
        from zoo.training.run import train

        root = tmp_path_factory.mktemp("doctest-workspace")
        texts, labels = sentiment_texts(400, seed=5)
        write_jsonl(root / "reviews.jsonl", texts, labels, ["negative", "positive"])
        train({
            "data": {"source": str(root / "reviews.jsonl"), "vocab_size": 500, "sequence_length": 24},
            "model": {"name": "transformer-tiny", "overrides": {"num_layers": 1}},
            # Six epochs: the examples show it telling "a gripping, funny film" from "a dull, boring film" (its
            # test accuracy 0.90; after two it guessed, at 0.55, and a schedule change flipped its predictions).
            "training": {"epochs": 6, "batch_size": 32, "seed": 3},
            "output": {"dir": str(root / "runs" / "reviews"), "tensorboard": False, "progress": "none"},
        })
        export_run(root / "runs" / "reviews", out=root / "saved_models" / "reviews")
        _BUILT["root"] = root
    return _BUILT["root"]


def pytest_collection_modifyitems(items):
    """Move the files that hold a ``slow`` test to the front (in their order; the rest keep theirs)."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


def _skip_reason(source):
    """Why an example cannot run here (a shared checkpoint or data set it names is absent), or None."""
    from zoo.data.sources import SHARED
    from zoo.paths import CHECKPOINT_DIR_ENV, DATA_DIR_ENV, checkpoint_dir, data_dir

    if CHECKPOINT_PATH in source and not (checkpoint_dir() / CHECKPOINT / "model.safetensors").is_file():
        return f"checkpoint {checkpoint_dir() / CHECKPOINT} not found (set {CHECKPOINT_DIR_ENV})"
    for name, spec in SHARED.items():
        # A set's folder is the first part of any of its file paths (``sms`` names ``sms_spam/...``).
        files = list(spec.get("class_files", {}).values()) or [spec.get("path") or spec.get("trec")]
        folder = data_dir() / Path(files[0]).parts[0]
        if "embedded" not in spec and f'"{name}"' in source and not folder.is_dir():
            return f"shared data set {name!r} not found at {folder} (set {DATA_DIR_ENV})"
    return None


@pytest.fixture(autouse=True)
def _doctest_folder(request, tmp_path, monkeypatch, doctest_namespace, tmp_path_factory):
    """Run each doctest in a fresh folder holding the files examples name, with the usual imports."""
    if not isinstance(request.node, DoctestItem):
        yield
        return
    import keras
    import numpy as np
    import tensorflow as tf
    from keras import ops

    import zoo

    source = "\n".join(example.source for example in request.node.dtest.examples)
    reason = _skip_reason(source)
    if reason:
        pytest.skip(reason)
    doctest_namespace.update(np=np, tf=tf, keras=keras, ops=ops, zoo=zoo)
    if any(name in source for name in WORKSPACE_FILES):
        root = _workspace(tmp_path_factory)
        for name in WORKSPACE_FILES:
            (shutil.copytree if (root / name).is_dir() else shutil.copy)(root / name, tmp_path / name)
    if CHECKPOINT_PATH in source:
        from zoo.paths import checkpoint_dir

        (tmp_path / "checkpoints").symlink_to(checkpoint_dir(), target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    keras.utils.set_random_seed(0)
    yield
