"""Output modes (multi-class, binary, multi-label) and baseline models are served as they were trained."""
import json

import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.export.tiny import sentiment_texts, train_tiny
from zoo.export.predict import InMemoryPredictor
from zoo.export.saved_model import export_model
from zoo.export.serving import ServingGraph


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_binary_export_gives_two_column_probabilities(tmp_path):
    texts, labels = sentiment_texts(200, seed=1)
    run = train_tiny(texts, labels, ["neg", "pos"], mode="binary", epochs=1)
    result = export_model(run.model, run.tokenizer, run.label_names, out=tmp_path / "binary")
    assert result.metadata["mode"] == "binary"
    out = tf.saved_model.load(str(result.path)).signatures["serving_default"](texts=tf.constant(texts[:20]))
    logits = run.model.predict(run.tokenizer.encode(tf.constant(texts[:20]), 24).numpy(), verbose=0)
    p = _sigmoid(logits[:, 0].astype(np.float64))
    np.testing.assert_allclose(out["probabilities"].numpy(), np.stack([1 - p, p], 1), atol=1e-5)
    assert out["label_id"].numpy().tolist() == (p > 0.5).astype(int).tolist()


def test_multilabel_joins_every_label_over_the_threshold():
    texts, sentiment = sentiment_texts(300, seed=2)
    names = ["positive", "mentions_plot", "mentions_acting"]
    y = np.stack([sentiment, ["plot" in t for t in texts], ["acting" in t for t in texts]], 1).astype(int)
    run = train_tiny(texts, y, names, mode="multilabel", epochs=1)
    # the in-memory graph is the one export_model saves (test_saved_model checks that they agree)
    out = InMemoryPredictor(run.model, run.tokenizer, names).predict(texts[:40])
    logits = run.model.predict(run.tokenizer.encode(tf.constant(texts[:40]), 24).numpy(), verbose=0)
    p = _sigmoid(logits.astype(np.float64))
    np.testing.assert_allclose(out.probabilities, p, atol=1e-5)
    expected = [",".join(n for n, on in zip(names, row) if on) for row in p >= 0.5]
    assert out.labels == expected and any("," in label for label in expected)
    np.testing.assert_array_equal(out.label_ids, p >= 0.5)
    low = InMemoryPredictor(run.model, run.tokenizer, names, threshold=0.3).predict(texts[:40])
    expected_low = [",".join(n for n, on in zip(names, row) if on) for row in p >= 0.3]
    assert low.labels == expected_low and expected_low != expected


def test_a_multilabel_models_label_ids_follow_its_threshold_as_its_label_does(tmp_path):
    from zoo.export.predict import load_predictor
    from zoo.export.saved_model import read_metadata

    texts, sentiment = sentiment_texts(200, seed=3)
    names = ["neg", "pos"]
    run = train_tiny(texts, np.stack([1 - sentiment, sentiment], 1), names, mode="multilabel", epochs=1)
    # label_id was the argmax whatever the threshold: 0.99 gave label "" beside label_id 1, 0.3 "neg,pos" beside one
    for threshold in (0.99, 0.3):
        decided = InMemoryPredictor(run.model, run.tokenizer, names, threshold=threshold).predict(texts[:40])
        chosen = decided.probabilities >= threshold
        assert decided.label_ids.tolist() == chosen.astype(int).tolist()
        assert decided.labels == [",".join(n for n, on in zip(names, row) if on) for row in chosen]
        row = decided.records(texts[:40])[0]
        assert "label_id" not in row and row["label_ids"] == chosen[0].astype(int).tolist()
    assert not chosen.all(1).all() and chosen.all(1).any()  # 0.3: some rows hold both labels, others one
    result = export_model(run.model, run.tokenizer, names, out=tmp_path / "ml", threshold=0.3)
    outputs = read_metadata(result.path)["signatures"]["serving_default"]["outputs"]
    assert outputs["label_ids"] == "int64 [None, C]" and "label_id" not in outputs
    served = tf.saved_model.load(str(result.path)).signatures["serving_default"](texts=tf.constant(texts[:40]))
    assert set(served) == set(outputs)
    assert served["label_ids"].numpy().tolist() == decided.label_ids.tolist()
    assert load_predictor(result.path).predict(texts[:40]).label_ids.tolist() == decided.label_ids.tolist()


def test_a_threshold_decides_the_second_class_in_memory_and_in_the_export(tiny_run, tmp_path):
    from zoo.export.predict import PredictInputError, load_predictor

    texts = tiny_run.texts[:80]
    names = np.array(tiny_run.label_names)
    p = InMemoryPredictor(tiny_run.model, tiny_run.tokenizer, names).predict(texts).probabilities
    threshold = float(np.quantile(p[:, 1], 0.3))  # below 0.5: texts the argmax calls negative become positive
    expected = (p[:, 1] >= threshold).astype(int)
    assert (expected != p.argmax(1)).any()
    decided = InMemoryPredictor(tiny_run.model, tiny_run.tokenizer, names, threshold=threshold).predict(texts)
    np.testing.assert_array_equal(decided.probabilities, p)
    assert decided.label_ids.tolist() == expected.tolist() and decided.labels == names[expected].tolist()
    result = export_model(tiny_run.model, tiny_run.tokenizer, names, out=tmp_path / "m", threshold=threshold)
    assert result.metadata["threshold"] == threshold
    served = tf.saved_model.load(str(result.path)).signatures["serving_default"](texts=tf.constant(texts))
    assert served["label_id"].numpy().tolist() == expected.tolist()
    assert load_predictor(result.path).predict(texts).labels == decided.labels
    # The export's own threshold is the one it serves; another would be a second, unserved decision.
    with pytest.raises(PredictInputError, match=rf"^threshold \(--threshold\) 0.9: the export {result.path} decides by "
                                                rf"threshold {threshold:g}, as it was exported; export the run again"):
        load_predictor(result.path, threshold=0.9)
    three = zoo.build("transformer-tiny", vocab_size=tiny_run.tokenizer.vocab_size, sequence_length=24,
                      num_classes=3, num_layers=1)
    with pytest.raises(ValueError, match=r"decides between two classes, or each label of a multi-label model; this "
                                         r"model has 3 classes \(a, b, c\)"):
        export_model(three, tiny_run.tokenizer, ["a", "b", "c"], out=tmp_path / "three", threshold=0.4)
    assert not (tmp_path / "three").exists()


def test_a_multilabel_name_holding_the_separator_is_refused_in_training_and_in_the_serving_graph(tiny_run, tmp_path):
    from zoo.data import DataError
    from zoo.training.data import split_texts

    # the served label joins predicted names with ",": "drama, romance" and "comedy" would read as three labels
    names = ["comedy", "drama, romance", "sci-fi"]
    rows = [{"text": "a b", "label": ["comedy"]}, {"text": "c d", "label": ["drama, romance", "sci-fi"]}]
    (tmp_path / "genres.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    config = zoo.Config.from_dict({"data": {"source": str(tmp_path / "genres.jsonl")},
                                   "model": {"overrides": {"mode": "multilabel"}}})
    with pytest.raises(DataError, match=r"genres.jsonl, line 2: label 'drama, romance' contains ',', which joins a "
                                        r"multi-label model's predicted labels into one served label string, where "
                                        r"it would read as 2 labels; rename the label"):
        split_texts(config)
    model = zoo.build("transformer-tiny", vocab_size=tiny_run.tokenizer.vocab_size, sequence_length=24,
                      num_classes=3, num_layers=1, mode="multilabel")
    with pytest.raises(ValueError, match=r"label 'drama, romance' contains ',', which joins a multi-label "):
        ServingGraph(model, tiny_run.tokenizer, names)
    # one label per text: a comma in a name is only text
    assert ServingGraph(tiny_run.model, tiny_run.tokenizer, ["bad, dull", "good"]).label_names == ["bad, dull", "good"]


def test_serving_graph_rejects_inconsistent_modes(tiny_run):
    with pytest.raises(ValueError, match="mode must be one of"):
        ServingGraph(tiny_run.model, tiny_run.tokenizer, tiny_run.label_names, 24, mode="regression")
    with pytest.raises(ValueError, match="binary mode needs"):
        ServingGraph(tiny_run.model, tiny_run.tokenizer, ["a", "b", "c"], 24, mode="binary")


def test_a_label_name_given_twice_is_refused(tiny_run, tmp_path):
    model = zoo.build("transformer-tiny", vocab_size=tiny_run.tokenizer.vocab_size, sequence_length=24,
                      num_classes=3, num_layers=1)
    # predictions' probabilities are keyed by name: they showed 2 of the 3 classes, 'pos' holding class 2's
    with pytest.raises(ValueError, match=r"label name 'pos' is given 2 times \(ids 0, 2\); each class needs its "
                                         r"own name"):
        InMemoryPredictor(model, tiny_run.tokenizer, ["pos", "neg", "pos"])
    with pytest.raises(ValueError, match="label name 'pos' is given 2 times"):
        export_model(model, tiny_run.tokenizer, ["pos", "neg", "pos"], out=tmp_path / "m")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("name, pads_to_longest", [("cnn", False), ("lstm", True)])
def test_baselines_are_served_as_they_were_trained(tiny_run, name, pads_to_longest):
    model = zoo.build(name, vocab_size=tiny_run.tokenizer.vocab_size, sequence_length=24, num_classes=1,
                      mode="binary")
    predictor = InMemoryPredictor(model, tiny_run.tokenizer, tiny_run.label_names, sequence_length=24)
    assert predictor.graph.mode == "binary" and predictor.graph.pad_to_longest == pads_to_longest
    # short texts too: the CNN's widest filter needs 5 positions, padding to the training length gives them
    texts = tiny_run.texts[:20] + ["", "superb"]
    ids = tiny_run.tokenizer.encode(tf.constant(texts), 24).numpy()
    p = _sigmoid(model.predict(ids, verbose=0)[:, 0].astype(np.float64))
    np.testing.assert_allclose(predictor.predict(texts).probabilities, np.stack([1 - p, p], 1), atol=1e-5)
