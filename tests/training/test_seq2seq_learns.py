"""Issue 8's proof that seq2seq learns: ``zoo train`` then ``zoo evaluate`` on a generated transduction task.

Both commands run through ``zoo.cli.main`` in the test process: a child Python per command cost ~5 s of CPU
each to start TensorFlow again, and the console entry point itself is ``tests/test_cli.py``'s to check.
"""
import json

import numpy as np
import pytest
import yaml

from zoo.cli import main

pytestmark = pytest.mark.slow

SYMBOLS = list("abcdefghij")


def _write_reversal_task(path, n=4000, seed=0):
    """``n`` sequences of 3-7 symbols (10 kinds) and their reversals, as a TSV with source/target columns."""
    rng = np.random.default_rng(seed)
    rows = [" ".join(rng.choice(SYMBOLS, size=int(rng.integers(3, 8)))) for _ in range(n)]
    path.write_text("source\ttarget\n" + "".join(f"{r}\t{' '.join(reversed(r.split()))}\n" for r in rows))
    return path


def test_seq2seq_reverses_held_out_sequences(tmp_path):
    data = _write_reversal_task(tmp_path / "reverse.tsv")
    config = {"data": {"source": str(data), "sequence_length": 12, "vocab_size": 100},
              "model": {"name": "seq2seq",
                        "overrides": {"num_layers": 2, "d_model": 64, "num_heads": 4, "ff_dim": 128, "dropout": 0.0}},
              "optimizer": {"learning_rate": 3e-3},
              "training": {"epochs": 6, "batch_size": 32, "label_smoothing": 0.0},
              "output": {"dir": str(tmp_path / "run"), "progress": "epoch"}}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", "--config", str(tmp_path / "run.yaml")]) == 0
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    report = json.loads((tmp_path / "run" / "evaluation" / "report.json").read_text())
    metrics = report["metrics"]
    print(f"reversal, held-out sequences: exact match {metrics['exact_match']:.3f}, BLEU {metrics['bleu']:.1f}")
    assert metrics["exact_match"] >= 0.95, metrics
