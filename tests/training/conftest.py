"""Fixtures for the training tests: a small learnable text set on disk and tiny run configs."""
import csv
import json
import os
import signal
import socket
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
POSITIVE = ["great", "good", "superb", "lovely"]
NEGATIVE = ["bad", "awful", "dull", "poor"]


def write_tiny_csv(path, n=320, seed=0):
    """Write ``n`` texts of filler words plus one cue word deciding the label (``pos``/``neg``)."""
    rng = np.random.default_rng(seed)
    filler = [f"w{i}" for i in range(40)]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(n):
            label = "pos" if i % 2 else "neg"
            words = list(rng.choice(filler, size=int(rng.integers(3, 12))))
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(POSITIVE if i % 2 else NEGATIVE)))
            writer.writerow([" ".join(words), label])
    return path


def write_pairs(path, n=400, seed=0):
    """Pairs whose label is told by a cue word in ``text_b`` only: a model reading ``text_a`` alone guesses."""
    positive, negative = ["good", "great", "funny", "fun"], ["bad", "dull", "boring", "not"]
    filler = ["the", "a", "film", "movie", "story", "is", "it", "very", "and", "of"]  # in the random BERT's vocabulary
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            first = " ".join(rng.choice(filler + positive + negative, size=int(rng.integers(3, 8))))
            cue = str(rng.choice(positive if i % 2 else negative))
            second = " ".join([*rng.choice(filler, size=int(rng.integers(2, 6))), cue])
            handle.write(json.dumps({"text_a": first, "text_b": second, "label": "yes" if i % 2 else "no"}) + "\n")
    return path


def keras_probabilities(run, texts, text_pairs=None, sequence_length=32):
    """A run's class probabilities (float64 softmax) for texts packed by its tokenizer, through its Keras model."""
    import tensorflow as tf

    second = None if text_pairs is None else tf.constant(text_pairs)
    packed = run.tokenizer.pack(tf.constant(texts), second, sequence_length=sequence_length)
    logits = run.model({"token_ids": packed["token_ids"], "segment_ids": packed["segment_ids"]},
                       training=False).numpy().astype(np.float64)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    return expected / expected.sum(1, keepdims=True)


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory):
    """Path of a 320-example, two-class CSV (``text``, ``label``) a tiny model learns in a few epochs."""
    return write_tiny_csv(tmp_path_factory.mktemp("data") / "tiny.csv")


def tiny_config(csv_path, run_dir, **sections):
    """A run config (dict) for a one-layer, 16-wide Transformer on ``csv_path``; ``sections`` update it."""
    config = {
        "data": {"source": str(csv_path), "vocab_size": 100, "sequence_length": 16, "validation_split": 0.2,
                 "test_split": 0.2},
        "model": {"name": "transformer-tiny",
                  "overrides": {"num_layers": 1, "d_model": 16, "num_heads": 2, "ff_dim": 32}},
        "optimizer": {"name": "adam", "learning_rate": 0.01, "weight_decay": 0.0},
        "training": {"epochs": 2, "batch_size": 16, "seed": 1},
        "output": {"dir": str(run_dir), "progress": "none"},
    }
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    return config


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def subprocess_env(**extra):
    """Environment for a child Python running zoo from this checkout, quiet TensorFlow logs."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def terminal_sigint():
    """``preexec_fn`` giving a child SIGINT's default disposition, as a terminal's foreground job has it.

    A suite started from a script in the background (``pytest &``, ``nohup``) ignores SIGINT, children
    inherit that, and a Ctrl-C test's child would then never see its signal.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


PYTHON = sys.executable
