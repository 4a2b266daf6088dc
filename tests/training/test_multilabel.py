"""Multi-label end to end: a file with several labels per row, trained, evaluated per label, exported."""
import json

import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.training.conftest import tiny_config
from zoo.export.predict import load_predictor
from zoo.export.saved_model import export_run

TAGS = {"sports": ["goal", "match", "team"], "politics": ["vote", "election", "senate"]}


def _tagged_rows(n, seed):
    """``n`` rows: filler words plus the cue words of a random subset of TAGS (possibly none)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        tags = [tag for tag in TAGS if rng.random() < 0.5]
        words = [f"w{j}" for j in rng.integers(0, 30, size=int(rng.integers(3, 8)))]
        words += [str(rng.choice(TAGS[tag])) for tag in tags]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": tags})
    return rows


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("multilabel")
    source = base / "tags.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in _tagged_rows(400, seed=0)), encoding="utf-8")
    config = tiny_config(source, base / "run", model={"overrides": {"num_layers": 1, "d_model": 16, "num_heads": 2,
                                                                    "ff_dim": 32, "mode": "multilabel"}},
                         training={"epochs": 8, "label_smoothing": 0.0}, data={"vocab_size": 200})
    return zoo.train(config)


def _bce(labels, probabilities):
    p = np.clip(probabilities.astype(np.float64), 1e-7, 1 - 1e-7)
    return float(np.mean(-(labels * np.log(p) + (1 - labels) * np.log(1 - p))))


def test_training_learns_each_label_with_independent_sigmoids(run):
    assert run.label_names == ["politics", "sports"]
    assert json.loads((run.run_dir / "model.json").read_text())["arguments"]["mode"] == "multilabel"
    test = zoo.evaluation.run_splits(run.config)["test"]
    assert test.multilabel and test.labels.shape == (len(test), 2)
    # the loss training reports is the binary cross-entropy of the served sigmoid probabilities
    probabilities = load_predictor(run.run_dir).predict(test.texts).probabilities
    assert run.metrics["test"]["loss"] == pytest.approx(_bce(test.labels, probabilities), rel=1e-4)
    assert run.metrics["test"]["accuracy"] > 0.9


def test_evaluation_reports_metrics_per_label(run, tmp_path):
    report = zoo.evaluate(run.run_dir, out_dir=tmp_path / "evaluation", progress=False)
    metrics = report["metrics"]
    assert metrics["multilabel"] and [c["label"] for c in metrics["per_class"]] == ["politics", "sports"]
    assert all(c["f1"] > 0.8 and c["support"] > 0 for c in metrics["per_class"])
    assert metrics["num_examples"] == run.metrics["examples"]["test"]
    assert (tmp_path / "evaluation" / "report.json").is_file()


def test_the_export_serves_what_was_trained(run, tmp_path):
    exported = export_run(run.run_dir, out=tmp_path / "tags" / "1")
    assert exported.metadata["mode"] == "multilabel"
    texts = ["goal for the team", "the senate vote", "goal in the election", "w1 w2 w3", ""]
    out = tf.saved_model.load(str(exported.path)).signatures["serving_default"](texts=tf.constant(texts))
    ids = run.tokenizer.encode(tf.constant(texts), run.config.data.sequence_length).numpy()
    logits = run.model.predict(ids, verbose=0).astype(np.float64)
    np.testing.assert_allclose(out["probabilities"].numpy(), 1 / (1 + np.exp(-logits)), atol=1e-5)
    in_memory = load_predictor(run.run_dir).predict(texts)
    np.testing.assert_allclose(in_memory.probabilities, out["probabilities"].numpy(), atol=1e-6)
    labels = [s.decode() for s in out["label"].numpy()]
    assert labels[:4] == ["sports", "politics", "politics,sports", ""] == in_memory.labels[:4]
    assert out["empty_input"].numpy().tolist() == [False] * 4 + [True]


def test_evaluating_with_a_count_of_mistakes_a_multilabel_run_lists_none_of_is_refused(run, tmp_path):
    # it wrote a report without the mistakes asked for
    with pytest.raises(ValueError, match="mistakes \\(--mistakes\\) lists a single-label classifier's .* "
                                         "is a multi-label run, whose report lists none: leave it out"):
        zoo.evaluate(run.run_dir, out_dir=tmp_path / "evaluation", mistakes=5, progress=False)
    # its export ignored the count too
    exported = export_run(run.run_dir, out=tmp_path / "tags")
    with pytest.raises(ValueError, match="mistakes \\(--mistakes\\) lists a single-label classifier's .* is a "
                                         "multi-label model's export, whose report lists none: leave it out"):
        zoo.evaluate(exported.path, data=run.config.data.source, out_dir=tmp_path / "export-evaluation",
                     mistakes=5, progress=False)
