"""Fine-tuning a pretrained checkpoint: pair packing, dynamic padding, sentence pairs from data to export.

Small random BERT checkpoints (``tests/converters/checkpoints.py``) keep these fast; the real MiniLM checks
are in ``test_fine_tune_minilm.py``.
"""
import dataclasses
import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.config import Config, ConfigError
from zoo.data import LabeledTexts
from zoo.export.serving import ServingGraph
from zoo.training.data import pack
from zoo.training.objectives import Objective
from zoo.training.transfer import checkpoint_classifier

from tests.converters.checkpoints import VOCABULARY, write_bert_checkpoint
from tests.evaluation.conftest import assert_folds_partition
from tests.export.test_standalone import run_standalone
from tests.training.conftest import keras_probabilities, write_pairs



@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A 2-layer, 32-wide random BERT checkpoint folder with a BERT-layout vocabulary."""
    return write_bert_checkpoint(tmp_path_factory.mktemp("bert"))[0]


def _ids(words):
    return [VOCABULARY.index(w) for w in words]


def test_pairs_pack_as_cls_a_sep_b_sep_with_segment_ids(checkpoint):
    tokenizer = zoo.converters.load_tokenizer(checkpoint)
    pairs = LabeledTexts(["The film", "bad"], [0, 1], ["x", "y"], text_pairs=["is good!", "not fun"])
    features = pack(tokenizer, pairs, 10)
    cls, sep = _ids(["[CLS]", "[SEP]"])
    np.testing.assert_array_equal(features["token_ids"], [
        [cls, *_ids(["the", "film"]), sep, *_ids(["is", "good", "!"]), sep, 0, 0],
        [cls, *_ids(["bad"]), sep, *_ids(["not", "fun"]), sep, 0, 0, 0, 0]])
    np.testing.assert_array_equal(features["segment_ids"], [[0, 0, 0, 0, 1, 1, 1, 1, 0, 0],
                                                             [0, 0, 0, 1, 1, 1, 0, 0, 0, 0]])
    single = pack(tokenizer, LabeledTexts(["the film"], [0], ["x"]), 6)
    np.testing.assert_array_equal(single["token_ids"], [[cls, *_ids(["the", "film"]), sep, 0, 0]])
    np.testing.assert_array_equal(single["segment_ids"], np.zeros((1, 6)))


def _mixed_batch(tokenizer, length):
    texts = ["the film is good", "a very very dull and boring story of a film", "fun", "it is not great"]
    seconds = ["it is fun", "the movie", "a story", "very bad"]
    return pack(tokenizer, LabeledTexts(texts, [0] * 4, ["x"], text_pairs=seconds), length)


@pytest.mark.parametrize("which", ["random", "minilm"])
def test_dynamic_padding_gives_the_same_logits_as_fixed_padding(which, checkpoint, request):
    folder = request.getfixturevalue("minilm_checkpoint") if which == "minilm" else checkpoint
    model, tokenizer = zoo.from_pretrained(folder, num_classes=3)
    fixed = _mixed_batch(tokenizer, 40)
    trimmed, _ = Objective(pad_id=tokenizer.pad_id).prepare({k: tf.constant(v) for k, v in fixed.items()}, None)
    assert trimmed["token_ids"].shape[1] == 16 < 40  # the longest pair has 15 tokens, rounded up to 8s
    np.testing.assert_allclose(model(trimmed, training=False), model(fixed, training=False), atol=1e-5, rtol=0)


@pytest.mark.parametrize("overrides, expected", [
    ({}, (0.3, 0.2)),  # the checkpoint's hidden_dropout_prob and attention_probs_dropout_prob
    ({"attention_dropout": 0.0}, (0.3, 0.0)),
    ({"dropout": 0.05, "attention_dropout": 0.15}, (0.05, 0.15))])
def test_the_backbone_takes_the_checkpoints_dropout_rates_unless_overridden(overrides, expected, tmp_path):
    folder = write_bert_checkpoint(tmp_path, {"hidden_dropout_prob": 0.3, "attention_probs_dropout_prob": 0.2})[0]
    config = Config.from_dict({"model": {"init_from": str(folder), "overrides": overrides},
                               "data": {"sequence_length": 32}})
    backbone = checkpoint_classifier(config, num_classes=2).backbone
    assert (backbone.dropout, backbone.attention_dropout) == expected
    assert {block.attention.dropout for block in backbone.blocks} == {expected[1]}


@pytest.mark.parametrize("overrides, message", [
    ({"head_dropout": 2}, "`head_dropout` must be a float in [0, 1), got 2"),
    ({"head_hidden_dim": -1}, "`head_hidden_dim` must be a positive integer, got -1")])
def test_a_bad_head_setting_names_its_key_not_the_backbones(overrides, message, tmp_path):
    # It said "model.init_from: `dropout` must be ...", and dropout is also the backbone's own override.
    folder = write_bert_checkpoint(tmp_path)[0]
    config = Config.from_dict({"model": {"init_from": str(folder), "overrides": overrides},
                               "data": {"sequence_length": 32}})
    with pytest.raises(ConfigError) as error:
        checkpoint_classifier(config, num_classes=2)
    assert str(error.value) == f"model.overrides: {message}"


@pytest.fixture(scope="module")
def pair_run(checkpoint, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pairs")
    config = {"data": {"source": str(write_pairs(folder / "pairs.jsonl")), "sequence_length": 32},
              "model": {"init_from": str(checkpoint)}, "optimizer": {"learning_rate": 3e-3},
              "training": {"epochs": 10}, "output": {"dir": str(folder / "run"), "progress": "none"}}
    return zoo.train(config)


def test_sentence_pairs_train_with_the_fine_tuning_recipe(pair_run):
    assert pair_run.metrics["recipe"] == "fine_tune"
    assert pair_run.config.training.batch_size == 32 and pair_run.config.optimizer.clipnorm == 1.0
    assert pair_run.metrics["test"]["accuracy"] >= 0.9  # the cue is in text_b: the pair is read
    assert json.loads((pair_run.run_dir / "model.json").read_text())["text_pairs"] is True
    backbone = pair_run.model.backbone
    # The checkpoint's attention_probs_dropout_prob and hidden_dropout_prob.
    assert backbone.attention_dropout == 0.1 and backbone.blocks[0].attention.dropout == 0.1
    assert backbone.dropout == 0.1


def test_a_model_name_beside_a_checkpoint_is_refused_not_ignored(checkpoint, tiny_csv, tmp_path):
    # The run trained the checkpoint's BERT and recorded "cnn" in its model.json.
    config = {"data": {"source": str(tiny_csv)}, "model": {"name": "cnn", "init_from": str(checkpoint)},
              "output": {"dir": str(tmp_path / "run"), "progress": "none"}}
    with pytest.raises(ConfigError, match=rf"^model.name: 'cnn' would not apply: a run from the checkpoint folder "
                                          rf"{checkpoint} trains the checkpoint's own architecture under a new head"):
        zoo.train(config)
    assert not (tmp_path / "run").exists()


def test_pairs_with_a_checkpoint_of_one_segment_are_refused_before_training(tmp_path):
    # type_vocab_size 1 has no segment row for text_b: training failed deep in TensorFlow ("indices[0,4] = 1 is
    # not in [0, 1)"), naming no key, and a GPU's gather would have read zeros.
    folder = write_bert_checkpoint(tmp_path / "bert", {"type_vocab_size": 1})[0]
    source = write_pairs(tmp_path / "pairs.jsonl", n=40)
    config = {"data": {"source": str(source), "sequence_length": 32}, "model": {"init_from": str(folder)},
              "output": {"dir": str(tmp_path / "run"), "progress": "none"}}
    with pytest.raises(ConfigError, match=rf"^data.source: {source} holds sentence pairs, which model.init_from "
                                              rf"{folder} cannot read: a sentence pair takes segment ids 0 to 1, but "
                                              r"the model has 1 segment row\(s\) \(type_vocab_size"):
        zoo.train(config)
    assert not (tmp_path / "run" / "checkpoints").exists()
    model = checkpoint_classifier(Config.from_dict(config), num_classes=2)
    with pytest.raises(ValueError, match=r"cannot serve sentence pairs: a sentence pair takes segment ids 0 to 1"):
        ServingGraph(model, zoo.converters.load_tokenizer(folder), ["no", "yes"], pairs=True)


def test_exported_pair_model_takes_two_strings_and_matches_keras_without_zoo(pair_run, tmp_path):
    exported = zoo.export_run(pair_run.run_dir, out=tmp_path / "export")
    signature = exported.metadata["signatures"]["serving_default"]
    assert exported.metadata["pairs"] and set(signature["inputs"]) == {"text_a", "text_b"}
    pairs = [["the film is good", "it is very fun"], ["a dull story", "the movie is bad"],
             ["Fun!", "not funny"], ["", "great"]]
    (out,) = run_standalone([exported.path], pairs, tmp_path)
    assert "error" not in out, out.get("error")
    expected = keras_probabilities(pair_run, [a for a, _ in pairs], [b for _, b in pairs])
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5, rtol=0)
    assert [s.decode() for s in out["label"]] == [pair_run.label_names[i] for i in expected.argmax(1)]


def test_zoo_predict_reads_pairs_two_at_a_time_and_from_files(pair_run, tmp_path, capsys):
    from zoo.cli import main
    from zoo.export.predict import predict_file

    assert main(["predict", str(pair_run.run_dir), "a film", "very fun", "the story", "so dull"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["text_a"], r["text_b"]) for r in records] == [("a film", "very fun"), ("the story", "so dull")]
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps({"text_a": a, "text_b": b}) + "\n"
                              for a, b in [("a film", "very fun"), ("the story", "so dull")]), encoding="utf-8")
    assert predict_file(pair_run.run_dir, source, output, progress=False) == 2
    written = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [r["text_a"] for r in written] == ["a film", "the story"]
    np.testing.assert_allclose([list(r["probabilities"].values()) for r in written],
                               [list(r["probabilities"].values()) for r in records], atol=1e-6)
    assert main(["predict", str(pair_run.run_dir), "only one"]) != 0
    assert "two at a time" in capsys.readouterr().err


def test_zoo_train_suggests_a_predict_command_that_works_on_a_pair_run(pair_run, capsys):
    from zoo.cli import main, print_next_commands

    assert pair_run.text_pairs
    print_next_commands(pair_run)
    suggested = next(line for line in capsys.readouterr().err.splitlines() if "zoo predict" in line)
    command = shlex.split(suggested)
    # The suggestion names the export to be; the run directory predicts the same way.
    assert main(["predict", str(pair_run.run_dir), *command[3:]]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_explain_and_evaluate_a_pair_run(pair_run, tmp_path):
    from zoo.evaluation.attention import explain_run

    explanation = explain_run(pair_run.run_dir, "cafe films", text_pair="very fun", out_dir=tmp_path / "explain")
    assert explanation.tokens == ["[CLS]", "caf", "##e", "film", "##s", "[SEP]", "very", "fun", "[SEP]"]
    assert explanation.words == ["[CLS]", "cafe", "films", "[SEP]", "very", "fun", "[SEP]"]
    assert explanation.word_attention.shape == (2, 4, 7, 7) and explanation.word_importance.sum() == pytest.approx(1)
    assert explanation.marker_words == (True, False, False, True, False, False, True)
    # The markers, where BERT's attention gathers, are no answer to what the text was attended for.
    weights = dict(zip(explanation.words[1:3] + explanation.words[4:6],
                       np.delete(explanation.word_importance, [0, 3, 6])))
    assert explanation.most_attended(3) == sorted(weights.items(), key=lambda item: -item[1])[:3]
    assert (tmp_path / "explain" / "importance.png").is_file()
    assert json.loads((tmp_path / "explain" / "explanation.json").read_text())["marker_words"] == \
        list(explanation.marker_words)
    with pytest.raises(ValueError, match="classifies sentence pairs: give two texts"):
        explain_run(pair_run.run_dir, "cafe films")
    report = zoo.evaluate(pair_run.run_dir, out_dir=tmp_path / "evaluation", progress=False)
    assert report["metrics"]["accuracy"] == pytest.approx(pair_run.metrics["test"]["accuracy"])
    # The report names the checkpoint the run fine-tuned, not model.name's from-scratch default.
    assert report["info"]["model"] == Path(pair_run.config.model.init_from).name


def test_zoo_cv_of_a_pair_run_from_a_checkpoint(checkpoint, tmp_path, monkeypatch):
    from zoo.cli import main

    source = write_pairs(tmp_path / "pairs.jsonl", n=96)
    monkeypatch.chdir(tmp_path)
    # --data and --pretrained as zoo train takes them.
    assert main(["cv", "--data", str(source), "--pretrained", str(checkpoint), "--folds", "2", "--set",
                 "data.sequence_length=16", "--set", "training.epochs=1", "--set", "output.progress=none"]) == 0
    # The default directory names the checkpoint, the model a run from it trains (not model.name's default).
    out = tmp_path / "runs" / f"pairs-{checkpoint.name}-cv2"
    cv = json.loads((out / "cv.json").read_text())
    assert len(cv["folds"]) == 2 and cv["num_examples"] == 96 and cv["model"] == checkpoint.name
    fold = zoo.data.load(out / "fold_0" / "data" / "test.jsonl")
    assert fold.is_pairs and len(fold) == 48
    assert all(report["num_examples"] == 48 for report in cv["folds"])
    assert json.loads((out / "fold_0" / "run" / "metrics.json").read_text())["recipe"] == "fine_tune"
    assert_folds_partition(out, 2, source)


def test_a_run_from_a_checkpoint_is_named_after_it_and_one_from_a_pretraining_run_after_both(checkpoint, tmp_path):
    from zoo.training.run import default_run_dir

    scratch = Config.from_dict({"data": {"source": "data/pairs.jsonl"}})
    assert default_run_dir(scratch) == Path("runs/pairs-transformer-tiny")
    pretrained = scratch.update({"model.init_from": str(checkpoint)})
    assert default_run_dir(pretrained) == Path(f"runs/pairs-{checkpoint.name}")
    # Any other folder (a zoo pretraining run) gives its encoder to model.name's classifier: the name says both,
    # where it was the from-scratch run's directory, which `zoo train --pretrained RUN` then found finished.
    (tmp_path / "pretrained").mkdir()
    assert default_run_dir(scratch.update({"model.init_from": str(tmp_path / "pretrained")})) == \
        Path("runs/pairs-transformer-tiny-from-pretrained")


def test_a_pair_run_from_a_checkpoint_trains_under_mirrored_strategy(checkpoint, tmp_path):
    config = {"data": {"source": str(write_pairs(tmp_path / "pairs.jsonl", n=96)), "sequence_length": 16},
              "model": {"init_from": str(checkpoint)}, "optimizer": {"layer_decay": 0.8},
              "training": {"epochs": 1}, "distribution": {"strategy": "mirrored"},
              "output": {"dir": str(tmp_path / "run"), "progress": "none"}}
    result = zoo.train(config)
    assert result.metrics["replicas"] == 2 and result.metrics["strategy"] == "mirrored"
    assert result.metrics["recipe"] == "fine_tune" and np.isfinite(result.history[0]["loss"])


def test_a_run_trained_in_mixed_precision_reloads_and_exports_in_float32(checkpoint, tiny_csv, tmp_path):
    config = {"data": {"source": str(tiny_csv), "sequence_length": 16}, "model": {"init_from": str(checkpoint)},
              "training": {"epochs": 1, "precision": "mixed_bfloat16"},
              "output": {"dir": str(tmp_path / "run"), "progress": "none"}}
    result = zoo.train(config)
    assert result.metrics["precision"] == "mixed_bfloat16"
    assert result.model.backbone.blocks[0].compute_dtype == "bfloat16"
    model = zoo.load_run(result.run_dir)[0]
    # Mixed precision's weights are float32: the run rebuilds exactly in float32, attention core included.
    assert {layer.compute_dtype for layer in [*model.layers, *model.backbone.layers]} == {"float32"}
    assert {block.attention.core_dtype for block in model.backbone.blocks} == {"float32"}
    for reloaded, trained in zip(model.weights, result.model.weights):
        np.testing.assert_array_equal(reloaded.numpy(), trained.numpy())
    texts = ["the film is good", "a dull story", "fun"]
    exported = zoo.export_run(result.run_dir, out=tmp_path / "export")
    # Loaded here: a process without zoo loading a checkpoint run's export is the pair export test's to check.
    served = tf.saved_model.load(str(exported.path)).signatures["serving_default"](texts=tf.constant(texts))
    expected = keras_probabilities(dataclasses.replace(result, model=model), texts, sequence_length=16)
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5, rtol=0)
