"""Fixtures for the tuning tests: a small three-class text set a tiny Transformer learns in two epochs."""
import csv
import os
import socket
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CUES = {"sport": ["goal", "match", "team"], "food": ["bread", "soup", "cheese"], "tech": ["code", "chip", "server"]}

# Runs a parser holding only ``zoo tune`` (zoo.cli wires the same function into ``zoo``).
TUNE_MAIN = """
import argparse, sys
from zoo.tuning.cli import add_tune_command
parser = argparse.ArgumentParser(prog="zoo")
add_tune_command(parser.add_subparsers(dest="command", required=True))
args = parser.parse_args(sys.argv[1:])
sys.exit(args.handler(args))
"""


def write_texts(path, n=240, seed=0):
    """Write ``n`` texts of filler words plus one cue word that decides the label (three classes)."""
    rng = np.random.default_rng(seed)
    filler = [f"w{i}" for i in range(30)]
    labels = sorted(CUES)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(n):
            label = labels[i % 3]
            words = list(rng.choice(filler, size=int(rng.integers(2, 10))))
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(CUES[label])))
            writer.writerow([" ".join(words), label])
    return path


@pytest.fixture(scope="session")
def texts_csv(tmp_path_factory):
    """Path of a 240-example, three-class CSV (``text``, ``label``)."""
    return write_texts(tmp_path_factory.mktemp("tuning-data") / "texts.csv")


# One layer, width 8-16: a trial takes a few seconds, most of it tracing.
TINY_SPACE = {
    "model.overrides.num_heads": [1, 2],
    "model.overrides.head_dim": [4, 8],
    "optimizer.learning_rate": {"min": 3e-3, "max": 3e-2, "sampling": "log"},
}


def search_config(csv_path, directory, **tuning):
    """A search config (dict) over a one-layer Transformer on ``csv_path``; ``tuning`` updates its section."""
    return {
        "data": {"source": str(csv_path), "vocab_size": 64, "sequence_length": 16, "validation_split": 0.25,
                 "test_split": 0.2},
        # No dropout: two replicas then take exactly the one-device step (dropout masks are per replica).
        "model": {"name": "transformer-tiny", "overrides": {"num_layers": 1, "ff_dim": 16, "dropout": 0.0}},
        "optimizer": {"name": "adam", "weight_decay": 0.0},
        # No length bucketing: fewer traced shapes, so a trial spends less time tracing.
        "training": {"epochs": 2, "batch_size": 16, "seed": 3, "bucket_by_length": False},
        "output": {"progress": "none"},
        "tuning": {"max_trials": 3, "patience": 0, "directory": str(directory), "space": dict(TINY_SPACE),
                   **tuning},
    }


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def subprocess_env(**extra):
    """Environment for a child Python running zoo from this checkout, quiet TensorFlow logs, no TF_CONFIG."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    for key in ("TF_CONFIG", "KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(key, None)
    env.update(extra)
    return env
