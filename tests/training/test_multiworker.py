"""Two real worker processes on 127.0.0.1 with TF_CONFIG: identical weights, and resume after a kill."""
import json
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.training.conftest import PYTHON, free_port, subprocess_env, tiny_config, write_tiny_csv
from zoo.config import Config

pytestmark = pytest.mark.slow
WORKER = __file__.replace("test_multiworker.py", "worker.py")
# 600 training examples in batches of 16: 37 steps an epoch, so a kill can land mid-run.
EPOCHS, STEPS_PER_EPOCH, EVERY = 2, 37, 10


def _config(tmp_path, name):
    data = tmp_path / "data.csv"
    if not data.exists():
        write_tiny_csv(data, n=1000, seed=1)
    config = tiny_config(data, tmp_path / name, distribution={"strategy": "multi_worker"},
                         training={"epochs": EPOCHS, "checkpoint_every": EVERY, "batch_size": 16,
                                   "seed": 3},
                         model={"overrides": {"num_layers": 1, "d_model": 16, "num_heads": 2, "ff_dim": 32,
                                              "dropout": 0.1}},
                         output={"progress": "epoch"})
    return Config.from_dict(config).save(tmp_path / f"{name}.yaml")


def _start(config_path, out_dir, ports):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    processes = []
    for index in range(len(ports)):
        env = subprocess_env(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        log = open(out_dir / f"{config_path.stem}-worker{index}.log", "a")
        processes.append(subprocess.Popen([PYTHON, WORKER, str(config_path), str(out_dir / f"worker{index}.npz")],
                                          env=env, stdout=log, stderr=subprocess.STDOUT, cwd=out_dir))
    return processes


def _wait(processes, timeout=240):
    deadline = time.monotonic() + timeout
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=max(deadline - time.monotonic(), 1)))
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            raise
    return codes


def _weights(path):
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """An uninterrupted two-worker run: ``(tmp_path, [weights of worker 0, weights of worker 1])``."""
    tmp_path = tmp_path_factory.mktemp("multiworker")
    processes = _start(_config(tmp_path, "whole"), tmp_path, [free_port(), free_port()])
    codes = _wait(processes)
    logs = "".join(p.read_text() for p in sorted(tmp_path.glob("whole-worker*.log")))
    assert codes == [0, 0], logs
    return tmp_path, [_weights(tmp_path / f"worker{i}.npz") for i in range(2)]


def test_two_workers_end_with_identical_weights(uninterrupted):
    tmp_path, (chief, other) = uninterrupted
    for a, b in zip(chief, other):
        np.testing.assert_array_equal(a, b)
    metrics = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["strategy"] == "multi_worker"
    # It said "2 replica(s)", as for mirrored.
    assert ", 2 replicas (multi_worker: 2 workers);" in (tmp_path / "whole-worker0.log").read_text()
    assert metrics["epochs_completed"] == EPOCHS and metrics["validation"]["accuracy"] > 0.6
    # Only the chief writes the run directory; the other worker's temporary checkpoints are gone.
    assert not list((tmp_path / "whole" / "checkpoints").glob(".tmp-*"))


def test_killed_workers_resume_to_the_uninterrupted_weights(uninterrupted, tmp_path):
    whole_dir, (expected, _) = uninterrupted
    config = _config(tmp_path, "killed")
    checkpoints = tmp_path / "killed" / "checkpoints"
    kill_at = 2 * EVERY
    processes = _start(config, tmp_path, [free_port(), free_port()])
    deadline = time.monotonic() + 180
    while not (checkpoints / f"ckpt-{kill_at}.index").exists():
        assert time.monotonic() < deadline and processes[0].poll() is None, "no checkpoint appeared"
        time.sleep(0.02)
    processes[1].send_signal(signal.SIGKILL)
    try:
        # Without its peer the chief cannot pass the next step's reduction: it fails there ~10 s on.
        processes[0].wait(timeout=90)
    except subprocess.TimeoutExpired:
        processes[0].kill()
    processes[0].wait()
    last = tf.train.latest_checkpoint(str(checkpoints))
    # It failed with a traceback ending "UnavailableError: Collective ops is aborted by: Socket closed".
    survivor = (tmp_path / "killed-worker0.log").read_text()
    assert ("PeerStoppedError: another task of the multi_worker cluster stopped, so worker 0 stopped too "
            "(TensorFlow: Collective ops is aborted by: ") in survivor, survivor[-3000:]
    assert f"the run resumes from the last checkpoint, {last}" in survivor
    assert last is not None and int(last.rsplit("-", 1)[1]) < EPOCHS * STEPS_PER_EPOCH
    assert not (tmp_path / "killed" / "metrics.json").exists()

    codes = _wait(_start(config, tmp_path, [free_port(), free_port()]))
    log = (tmp_path / "killed-worker0.log").read_text()
    assert codes == [0, 0], log
    assert f"resuming from {last}" in log
    for got in (_weights(tmp_path / "worker0.npz"), _weights(tmp_path / "worker1.npz")):
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b)


def test_a_worker_that_cannot_see_the_chiefs_run_directory_stops_every_task(uninterrupted, tmp_path):
    # The uninterrupted run, as if stopped after its last checkpoint: the chief resumes from it. The worker's
    # --output is another directory (separate machines, no shared storage): it finds no checkpoint.
    whole_dir, _ = uninterrupted
    shared = tmp_path / "shared"
    shutil.copytree(whole_dir / "whole", shared)
    (shared / "metrics.json").unlink()
    last = tf.train.latest_checkpoint(str(shared / "checkpoints"))
    before = {path: path.read_bytes() for path in sorted(shared.rglob("*")) if path.is_file()}
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    processes = []
    for index, out in enumerate([shared, tmp_path / "elsewhere"]):
        env = subprocess_env(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(
            [PYTHON, "-m", "zoo.cli", "train", "--config", str(whole_dir / "whole.yaml"), "--output", str(out)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path))
    try:
        outputs = [process.communicate(timeout=90)[0] for process in processes]
    finally:
        for process in processes:
            process.kill()
    step = int(last.rsplit("-", 1)[1])
    problem = ("every task of the multi_worker cluster must see the same run directory (shared storage) and resume "
               "from the same checkpoint; nothing was trained")
    assert [process.returncode for process in processes] == [2, 2], outputs
    assert (f"worker 0 resumes from ckpt-{step} (step {step}) in {shared / 'checkpoints'}, while worker 1 starts "
            f"afresh at step 0 (it found no checkpoint): {problem}") in outputs[0], outputs[0]
    assert (f"worker 1 found no checkpoint in {tmp_path / 'elsewhere' / 'checkpoints'} (a fresh start at step 0), "
            f"while worker 0 (the chief) resumes from ckpt-{step} (step {step}): {problem}") in outputs[1], outputs[1]
    assert "Traceback" not in "".join(outputs)
    # The chief wrote nothing: the run directory is as it was.
    assert {path: path.read_bytes() for path in sorted(shared.rglob("*")) if path.is_file()} == before


def test_two_workers_fine_tune_a_pretrained_checkpoint_to_identical_weights(tmp_path):
    from tests.converters.checkpoints import write_bert_checkpoint
    from tests.training.conftest import write_pairs

    checkpoint = write_bert_checkpoint(tmp_path / "bert")[0]
    config = Config.from_dict({
        "data": {"source": str(write_pairs(tmp_path / "pairs.jsonl", n=160)), "sequence_length": 16},
        "model": {"init_from": str(checkpoint)}, "optimizer": {"layer_decay": 0.9},
        "training": {"epochs": 1, "batch_size": 16}, "distribution": {"strategy": "multi_worker"},
        "output": {"dir": str(tmp_path / "pretrained"), "progress": "epoch"}}).save(tmp_path / "pretrained.yaml")
    codes = _wait(_start(config, tmp_path, [free_port(), free_port()]))
    logs = "".join(p.read_text() for p in sorted(tmp_path.glob("pretrained-worker*.log")))
    assert codes == [0, 0], logs
    for a, b in zip(_weights(tmp_path / "worker0.npz"), _weights(tmp_path / "worker1.npz")):
        np.testing.assert_array_equal(a, b)
    metrics = json.loads((tmp_path / "pretrained" / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["recipe"] == "fine_tune"
