"""Parameter-server training with in-process servers on 127.0.0.1: the embedding is sharded and learns."""
import json
import subprocess

import numpy as np
import pytest

from tests.training.conftest import PYTHON, REPO, subprocess_env, tiny_config, write_tiny_csv
from zoo.config import Config
from zoo.training import load_run

pytestmark = pytest.mark.slow


def test_parameter_server_shards_the_embedding_and_learns(tmp_path):
    # 1,000 examples rather than the 320 of `tiny_csv`: with asynchronous updates, 36 steps on 192 examples
    # left validation accuracy anywhere from 0.66 to 0.80 from run to run.
    data = write_tiny_csv(tmp_path / "data.csv", n=1000, seed=2)
    config = tiny_config(data, tmp_path / "run", distribution={"strategy": "parameter_server"},
                         training={"epochs": 3, "checkpoint_every": 6}, output={"progress": "epoch"})
    path = Config.from_dict(config).save(tmp_path / "run.yaml")
    out = tmp_path / "result.json"
    # A child process: connecting to a cluster rewires this process's TensorFlow context for good.
    done = subprocess.run([PYTHON, str(REPO / "tests" / "training" / "ps_cluster.py"), str(path), str(out)],
                          env=subprocess_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["sharded"]
    assert sorted(shard["device"] for shard in result["shards"]) == [
        "/job:ps/replica:0/task:0/device:CPU:0", "/job:ps/replica:0/task:1/device:CPU:0"]
    assert sum(shard["shape"][0] for shard in result["shards"]) == result["vocab_size"]
    history = result["history"]
    assert len(history) == 3 and history[-1]["loss"] < history[0]["loss"]
    # The start line named no replicas or workers for parameter_server.
    assert ", parameter_server: 2 workers, 2 ps;" in done.stderr, done.stderr[-3000:]
    assert history[0]["distribution"] == {"strategy": "parameter_server", "replicas": 1}
    assert result["metrics"]["validation"]["accuracy"] > 0.8
    # The run directory holds ordinary (unsharded) weights that load without a cluster.
    model, tokenizer, labels, _ = load_run(tmp_path / "run")
    assert labels == ["neg", "pos"]
    logits = np.asarray(model(tokenizer.encode(np.array(["w1 superb w2", "w3 awful w4"]), 16)))
    assert logits.shape == (2, 2)
