"""Shared fixtures: backend-aware set-up, the shared data location, logical CPU devices."""
import logging
import os

import pytest

from zoo.paths import CHECKPOINT_DIR_ENV, DATA_DIR_ENV, checkpoint_dir, data_dir

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")

# pytest-xdist's workers share the cores: each TensorFlow (and each child process a test starts, which inherits
# the variable) takes its share of intra-op threads instead of all of them, so they do not oversubscribe.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(max(1, (os.cpu_count() or 1) // _WORKERS)))

if BACKEND == "tensorflow":
    # Two logical CPU devices let MirroredStrategy run two replicas on one CPU; this must happen
    # before TensorFlow initialises its devices, so it runs at conftest import.
    import tensorflow as tf

    _cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )


@pytest.fixture(scope="session")
def shared_data():
    """Path to the shared data sets; skips the test with the reason when they are absent."""
    path = data_dir()
    if not path.is_dir():
        pytest.skip(f"real data sets not found at {path} (set {DATA_DIR_ENV} to their location)")
    return path


@pytest.fixture
def checkpoint_folder(tmp_path):
    """A folder the config takes for a pretrained BERT checkpoint (its recipe): a config.json, no weights."""
    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert"}')
    return str(folder)


@pytest.fixture(scope="session")
def minilm_checkpoint():
    """Path to the real all-MiniLM-L6-v2 checkpoint folder; skips the test with the reason when it is absent."""
    path = checkpoint_dir() / "all-MiniLM-L6-v2"
    if not (path / "model.safetensors").is_file():
        pytest.skip(f"pretrained checkpoint not found at {path} (set {CHECKPOINT_DIR_ENV} to the folder holding "
                    "all-MiniLM-L6-v2/)")
    return path


@pytest.fixture(autouse=True)
def _float32_policy():
    """Each test starts and ends with the float32 policy, whatever the test before it set.

    No ``keras.backend.clear_session()`` here: its full garbage collection cost ~0.5 s per test.
    """
    import keras

    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(autouse=True)
def _zoo_records_reach_caplog(monkeypatch):
    """zoo's records also reach the root logger during a test, where pytest's caplog handler sits.

    zoo's logger prints its records and stops them there (``propagate = False``, see zoo/__init__.py), which hid
    them from caplog. The root logger's handlers under pytest write nowhere, so standard error (capsys) still shows
    each zoo line once, from zoo's own handler.
    """
    monkeypatch.setattr(logging.getLogger("zoo"), "propagate", True)
