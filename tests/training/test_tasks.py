"""Token tasks (lm, mlm, seq2seq) in the training engine, pretraining, and ``model.init_from``."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.cli import main
from zoo.config import Config, ConfigError
from zoo.data.tokenizers import CLS_ID, MASK_ID, SEP_ID
from zoo.training.data import encode, frame
from zoo.training.loop import EpochBatches, Evaluator, Trainer
from zoo.training.objectives import Objective, TokenObjective
from zoo.training.transfer import freeze_blocks

from tests.training.conftest import tiny_config
from tests.vocabularies import WORDS, FixedVocabTokenizer, bert_like, pad_inside

TINY = {"num_layers": 1, "d_model": 16, "num_heads": 2, "ff_dim": 32, "dropout": 0.0}


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_token_loss_and_sums_match_numpy(smoothing):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 6)).astype(np.float32)
    targets = np.array([[3, 5, 0, 0], [1, 2, 4, 0]])
    logits[targets == 0, 0] = 5.0  # padding "predicted" right: a hit only if padding were counted
    logp = _log_softmax(logits.astype(np.float64))
    nll = -np.take_along_axis(logp, targets[..., None], -1)[..., 0]
    smoothed = (1 - smoothing) * nll + smoothing * -logp.mean(-1)
    weights = (targets != 0).astype(np.float64)
    objective = TokenObjective("lm", vocab_size=6, label_smoothing=smoothing)
    per_example = objective.loss(tf.constant(targets), tf.constant(logits))
    np.testing.assert_allclose(per_example, (smoothed * weights).sum(1) / weights.sum(1), rtol=1e-5)
    loss_sum, hits, count = objective.sums(tf.constant(targets), tf.constant(logits), per_example)
    np.testing.assert_allclose(float(loss_sum), (nll * weights).sum(), rtol=1e-5)
    assert float(hits) == ((logits.argmax(-1) == targets) * weights).sum()
    assert float(count) == 5


def test_lm_and_seq2seq_targets_are_the_next_tokens_and_padding_is_not_predicted():
    ids = np.zeros((2, 17), np.int32)
    ids[0, :5] = [CLS_ID, 7, 8, 9, SEP_ID]
    ids[1, :3] = [CLS_ID, 6, SEP_ID]
    inputs, targets = TokenObjective("lm", vocab_size=20).prepare(tf.constant(ids), None)
    assert inputs.shape == targets.shape == (2, 8)
    np.testing.assert_array_equal(inputs[0, :4], [CLS_ID, 7, 8, 9])
    np.testing.assert_array_equal(targets[0, :5], [7, 8, 9, SEP_ID, 0])
    np.testing.assert_array_equal(targets[1, :3], [6, SEP_ID, 0])
    source = np.array([[9, 8, 7, 0]], np.int32)
    features = {"source": tf.constant(source), "target": tf.constant(ids[:1])}
    inputs, targets = TokenObjective("seq2seq", vocab_size=20).prepare(features, None)
    np.testing.assert_array_equal(inputs["encoder_ids"][0, :4], source[0])
    np.testing.assert_array_equal(inputs["decoder_ids"][0, :4], [CLS_ID, 7, 8, 9])
    np.testing.assert_array_equal(targets[0, :4], [7, 8, 9, SEP_ID])


def test_mlm_predicts_exactly_the_chosen_tokens_and_repeats_for_a_seed():
    ids = np.random.default_rng(0).integers(5, 50, size=(64, 16)).astype(np.int32)
    ids[:, 12:] = 0
    objective = TokenObjective("mlm", vocab_size=50)
    inputs, targets = objective.prepare(tf.constant(ids), None, tf.constant([1, 2], tf.int64))
    corrupted, positions, targets = (inputs["token_ids"].numpy(), inputs["mask_positions"].numpy(),
                                     targets.numpy())
    assert positions.shape == targets.shape and positions.shape[1] % 8 == 0
    chosen = np.zeros(ids.shape, bool)
    for row in range(len(ids)):
        picked = positions[row][targets[row] != 0]
        assert len(set(picked)) == len(picked)
        chosen[row, picked] = True
        np.testing.assert_array_equal(targets[row][targets[row] != 0], ids[row, picked])
    assert not chosen[:, 12:].any()
    assert 0.10 < chosen[:, :12].mean() < 0.20
    np.testing.assert_array_equal(corrupted[~chosen], ids[~chosen])
    assert 0.7 < (corrupted[chosen] == MASK_ID).mean() < 0.9
    again = objective.prepare(tf.constant(ids), None, tf.constant([1, 2], tf.int64))[0]["token_ids"]
    np.testing.assert_array_equal(again, corrupted)
    other = objective.prepare(tf.constant(ids), None, tf.constant([1, 3], tf.int64))[0]["token_ids"]
    assert (other.numpy() != corrupted).any()


def test_mlm_predicts_the_mask_rate_it_is_given():
    ids = np.random.default_rng(0).integers(5, 50, size=(64, 16)).astype(np.int32)
    ids[:, 12:] = 0
    objective = TokenObjective("mlm", vocab_size=50, mask_rate=0.5)
    targets = objective.prepare(tf.constant(ids), None, tf.constant([1, 2], tf.int64))[1].numpy()
    # 768 real tokens drawn at 0.5: the fraction's standard deviation is 0.018; the default 0.15 is far outside.
    assert 0.42 < (targets != 0).sum() / (ids != 0).sum() < 0.58


@pytest.mark.parametrize("vocabulary", [None, bert_like(), pad_inside()], ids=["learned", "bert", "pad-7"])
def test_frame_wraps_texts_in_the_tokenizers_begin_and_end_and_pads_with_its_pad(vocabulary):
    tok = zoo.data.build_tokenizer("word", 50).fit(WORDS) if vocabulary is None else FixedVocabTokenizer(vocabulary)
    word = dict(zip(tok.vocabulary, range(tok.vocab_size)))
    framed = frame(tok, ["the film", "a dull plot was tedious"], 4)
    cls, sep, pad = tok.cls_id, tok.sep_id, tok.pad_id
    np.testing.assert_array_equal(framed, [[cls, word["the"], word["film"], sep, pad],
                                           [cls, word["a"], word["dull"], word["plot"], sep]])


def test_token_objectives_read_the_special_ids_they_are_given():
    special = FixedVocabTokenizer(pad_inside()).special_ids
    assert special.pad == 7
    ids = np.full((2, 17), 7, np.int32)
    ids[0, :5] = [special.cls, 0, 8, 9, special.sep]
    ids[1, :3] = [special.cls, 10, special.sep]
    objective = TokenObjective("lm", vocab_size=30, special_ids=special)
    inputs, targets = objective.prepare(tf.constant(ids), None)
    assert inputs.shape == (2, 8)
    np.testing.assert_array_equal(targets[0, :5], [0, 8, 9, special.sep, 7])
    weights = objective.sums(targets, tf.zeros((2, 8, 30)), objective.loss(targets, tf.zeros((2, 8, 30))))[2]
    assert float(weights) == 4 + 2  # every target but the padding; id 0 is a word here
    bert = FixedVocabTokenizer(bert_like()).special_ids
    words = np.random.default_rng(2).integers(104, 126, size=(64, 16)).astype(np.int32)
    words[:, 0], words[:, 12:] = bert.cls, bert.pad
    inputs, targets = TokenObjective("mlm", vocab_size=126, special_ids=bert).prepare(
        tf.constant(words), None, tf.constant([1, 2], tf.int64))
    corrupted = inputs["token_ids"].numpy()
    picked = [set(p[t != bert.pad]) for p, t in zip(inputs["mask_positions"].numpy(), targets.numpy())]
    assert all(0 not in rows and not rows & set(range(12, 16)) for rows in picked)
    assert (corrupted[:, 0] == bert.cls).all() and (corrupted[:, 12:] == bert.pad).all()
    replaced = corrupted[(corrupted != words) & (corrupted != bert.mask)]
    assert len(replaced) and not set(replaced) & set(bert.all)


@pytest.mark.parametrize("task", ["classification", "lm"])
def test_a_non_zero_pad_id_is_masked_so_the_padded_length_changes_no_metric(task):
    tok = FixedVocabTokenizer(pad_inside())
    texts = ["the film was great", "a dull plot", "boring", "the cast and the story were moving and funny"]
    keras.utils.set_random_seed(0)
    if task == "classification":
        model = zoo.build("transformer-tiny", vocab_size=tok.vocab_size, sequence_length=24, num_classes=2,
                          pad_id=tok.pad_id, **TINY)
        objective, encoded = Objective(pad_id=tok.pad_id), lambda length: encode(tok, texts, length)
    else:
        model = zoo.build("lm", vocab_size=tok.vocab_size, sequence_length=24, pad_id=tok.pad_id, **TINY)
        objective = TokenObjective("lm", tok.vocab_size, special_ids=tok.special_ids)
        encoded = lambda length: frame(tok, texts, length)
    labels = np.array([1, 0, 0, 1], np.int32) if task == "classification" else None
    short, long = encoded(10), encoded(24)
    assert (long[:, 12:] == tok.pad_id).all()
    evaluate = Evaluator(model, objective)
    np.testing.assert_allclose(evaluate(short, labels)["loss"], evaluate(long, labels)["loss"], rtol=1e-5)


def test_mlm_masks_of_a_resumed_run_equal_an_uninterrupted_run():
    ids = np.random.default_rng(1).integers(5, 40, size=(32, 8)).astype(np.int32)
    model = zoo.build("mlm", vocab_size=40, sequence_length=8, **TINY)
    trainer = Trainer(model, keras.optimizers.SGD(0.1), tf.distribute.get_strategy(),
                      TokenObjective("mlm", vocab_size=40), batch_size=8, seed=3)
    batches = np.concatenate([EpochBatches(32, 8, seed=0).indices(e) for e in range(2)])

    def masked(rows, first_step):
        dataset = trainer.distribute(ids, None, rows, first_step=first_step)
        return [inputs["token_ids"].numpy() for inputs, _ in dataset]

    full = masked(batches, 0)
    np.testing.assert_array_equal(np.stack(masked(batches[5:], 5)), np.stack(full[5:]))
    assert not np.array_equal(full[0], full[4])


def _write_lines(path, n, seed=0):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(30)]
    lines = [" ".join(rng.choice(words, size=int(rng.integers(3, 10)))) for _ in range(n)]
    path.write_text("text\tlabel\n" + "".join(f"{line}\t{i % 2}\n" for i, line in enumerate(lines)))
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return _write_lines(tmp_path_factory.mktemp("corpus") / "text.tsv", 240)


def _token_config(source, run_dir, name, **sections):
    config = tiny_config(source, run_dir, **sections)
    config["model"] = {"name": name, "overrides": dict(TINY)}
    config["training"]["label_smoothing"] = 0.0
    return config


def test_lm_learns_and_reports_perplexity(tmp_path):
    # Runs of consecutive words (w5 w6 w7 ...; w29 is followed by w0): the previous word tells the next one.
    rng = np.random.default_rng(0)
    lines = sorted({" ".join(f"w{(start + j) % 30}" for j in range(int(rng.integers(3, 10))))
                    for start in rng.integers(0, 30, size=240)})
    source = tmp_path / "runs.tsv"  # texts alone: a corpus has no label column (it was a MissingColumnError)
    source.write_text("text\n" + "".join(f"{line}\n" for line in lines))
    result = zoo.train(_token_config(source, tmp_path / "lm", "lm", training={"epochs": 5},
                                     optimizer={"learning_rate": 0.03}))
    history = result.history
    assert history[-1]["loss"] < history[0]["loss"]
    assert result.metrics["task"] == "lm" and result.label_names == []
    test = result.metrics["test"]
    assert test["perplexity"] == pytest.approx(np.exp(test["loss"]))
    # A model ignoring the context does no better than the unigram distribution of the words and end tokens.
    _, counts = np.unique([t for line in lines for t in [*line.split(), "[end]"]], return_counts=True)
    unigram = np.exp(-np.sum(counts / counts.sum() * np.log(counts / counts.sum())))
    assert 25 < unigram and test["perplexity"] < 0.7 * unigram
    model, tokenizer, labels, config = zoo.load_run(result.run_dir)
    assert labels == [] and config.model.name == "lm"


def test_seq2seq_trains_from_source_and_target_columns(tmp_path):
    rng = np.random.default_rng(0)
    rows = [" ".join(rng.choice(list("abcdef"), size=int(rng.integers(2, 6)))) for _ in range(200)]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"source": r, "target": " ".join(reversed(r.split()))}) + "\n" for r in rows))
    result = zoo.train(_token_config(path, tmp_path / "s2s", "seq2seq"))
    assert result.metrics["task"] == "seq2seq"
    # repeated source texts are dropped before splitting (data.deduplicate), then 20 % each held out
    held_out = round(0.2 * len(set(rows)))
    assert result.metrics["examples"] == {"train": len(set(rows)) - 2 * held_out, "validation": held_out,
                                          "test": held_out}
    assert np.isfinite(result.metrics["test"]["perplexity"])


def test_bad_seq2seq_column_names_the_file_and_column(corpus, tmp_path):
    with pytest.raises(ValueError, match=r"text\.tsv.*'source'"):
        zoo.train(_token_config(corpus, tmp_path / "bad", "seq2seq"))


def test_extra_sources_only_for_unlabelled_text_models(corpus, tmp_path):
    config = tiny_config(corpus, tmp_path / "x", data={"extra_sources": [str(corpus)]})
    with pytest.raises(ConfigError, match="extra_sources.*only lm and mlm"):
        zoo.train(config)


@pytest.fixture(scope="module")
def pretrained(corpus, tmp_path_factory):
    """A finished mlm pretraining run made with ``zoo pretrain`` (the corpus and 240 more texts, labels unused)."""
    run_dir = tmp_path_factory.mktemp("pre") / "mlm"
    more = _write_lines(run_dir.parent / "more.tsv", 240, seed=1)
    config = _token_config(corpus, run_dir, "mlm", data={"extra_sources": [str(more)]})
    path = run_dir.parent / "pretrain.json"
    path.write_text(json.dumps(config))
    assert main(["pretrain", "--config", str(path)]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["task"] == "mlm" and metrics["examples"]["train"] == 144 + 240
    return run_dir


def _finetune_config(corpus, pretrained, run_dir, **model):
    config = tiny_config(corpus, run_dir, model={"overrides": {**TINY, "pooling": "mean"},
                                                 "init_from": str(pretrained), **model})
    return config


def test_auto_takes_the_pretraining_runs_length_and_says_so(corpus, pretrained, tmp_path):
    from zoo.training import transfer
    from zoo.training.data import load_splits

    config = Config.from_dict(_finetune_config(corpus, pretrained, tmp_path / "ft")).update(
        {"data.sequence_length": "auto"})
    data = load_splits(config, transfer.pretrained_run(config)[1])
    # It said "95th percentile of training token counts" for the encoder's own length.
    assert data["sequence_length"] == 16 and data["length_chosen"] == f"auto: the length of {pretrained}'s encoder"


def test_init_from_copies_the_backbone_and_freezing_keeps_it(corpus, pretrained, tmp_path):
    donor = zoo.load_run(pretrained)[0]
    result = zoo.train(_finetune_config(corpus, pretrained, tmp_path / "ft", freeze="encoder"))
    assert len(result.model.backbone.weights) == len(donor.backbone.weights) == 16  # 1 block of 12, 2 tables, a norm
    for got, want in zip(result.model.backbone.get_weights(), donor.backbone.get_weights()):
        np.testing.assert_array_equal(got, want)
    fresh = zoo.build("transformer-tiny", vocab_size=result.tokenizer.vocab_size, sequence_length=16,
                      num_classes=2, **{**TINY, "pooling": "mean"})
    head = result.model.head.get_weights()[0]
    assert head.shape == fresh.head.get_weights()[0].shape
    assert result.tokenizer.vocabulary == zoo.load_run(pretrained)[1].vocabulary


def test_encoder_learning_rate_scale_slows_only_the_encoder(corpus, pretrained, tmp_path):
    donor = zoo.load_run(pretrained)[0]
    config = _finetune_config(corpus, pretrained, tmp_path / "scaled")
    config["optimizer"]["encoder_learning_rate_scale"] = 1e-4
    result = zoo.train(config)
    moved = max(np.abs(a - b).max() for a, b in zip(result.model.backbone.blocks[0].get_weights(),
                                                    donor.backbone.blocks[0].get_weights()))
    # Adam steps are about the learning rate: 1e-2 for the head, 1e-6 for the encoder.
    assert 0 < moved < 1e-4
    assert np.abs(result.model.head.get_weights()[0]).max() > 1e-3


def test_init_from_rejects_another_tokenizer_or_encoder_size(corpus, pretrained, tmp_path):
    config = _finetune_config(corpus, pretrained, tmp_path / "a")
    config["data"]["vocab_size"] = 50
    with pytest.raises(ConfigError, match=r"data\.vocab_size: 50 here, 100 in"):
        zoo.train(config)
    config = _finetune_config(corpus, pretrained, tmp_path / "b")
    config["model"]["overrides"]["d_model"] = 32
    with pytest.raises(ConfigError, match=r"model\.overrides\.d_model"):
        zoo.train(config)
    with pytest.raises(ConfigError, match="init_from.*not found"):
        zoo.train(_finetune_config(corpus, tmp_path / "missing", tmp_path / "c"))
    with pytest.raises(ConfigError, match="freeze: encoder needs model.init_from"):
        Config.from_dict({"model": {"freeze": "encoder"}})



def test_a_classifier_takes_the_encoder_sizes_of_its_pretraining_run_unless_they_are_set(corpus, tmp_path):
    """zoo pretrain's mlm (d_model 128, 4 heads, ff_dim 256 from its builder) under transformer-tiny's registry sizes
    failed with the models' ValueError, naming the heads alone: model.json records only the arguments a run was
    given. The sizes the config leaves to the registry are now the run's; sizes it sets must match them."""
    mlm = _token_config(corpus, tmp_path / "mlm", "mlm", training={"epochs": 1})
    mlm["model"]["overrides"] = {"num_layers": 1}
    run = zoo.train(mlm).run_dir
    result = zoo.train(tiny_config(corpus, tmp_path / "inherits", model={"init_from": str(run), "overrides": {}},
                                   training={"epochs": 1}))
    for backbone in (result.model.backbone, zoo.load_run(result.run_dir)[0].backbone):
        assert (backbone.num_layers, backbone.d_model, backbone.num_heads, backbone.ff_dim) == (1, 128, 4, 256)
    with pytest.raises(ConfigError) as error:
        zoo.train(tiny_config(corpus, tmp_path / "ft", model={"init_from": str(run)}))
    assert str(error.value) == (
        f"model.init_from: the encoder differs from the pretrained 'mlm' model (d_model: 16 here, 128 in {run}; "
        f"ff_dim: 32 here, 256 in {run}; num_heads: 2 here, 4 in {run}); set model.overrides.d_model: 128, "
        "model.overrides.ff_dim: 256, model.overrides.num_heads: 4, the pretrained values")
    assert not (tmp_path / "ft").exists()


@pytest.mark.parametrize("name", ["lstm", "cnn"])
def test_init_from_with_a_baseline_says_it_has_no_encoder_to_start(corpus, pretrained, tmp_path, name):
    """The error used to list the encoder sizes as "None here" and tell the user to set model.overrides.num_layers,
    d_model, ff_dim and num_heads, which the baselines' builders refuse."""
    config = _finetune_config(corpus, pretrained, tmp_path / name)
    config["model"].update(name=name, overrides={})
    with pytest.raises(ConfigError) as error:
        zoo.train(config)
    assert str(error.value) == (f"model.init_from: {pretrained} holds a pretrained Transformer encoder, and model.name "
                                f"'{name}' has none to start from it; set model.name to a transformer-* model, or "
                                "remove model.init_from")
    assert not (tmp_path / name).exists()


def test_a_classifier_from_an_lm_run_is_refused_naming_the_pretraining_it_needs(corpus, tmp_path):
    """It failed with the models' ValueError ("causal: True in 'transformer_lm', False in 'transformer_classifier'"),
    naming no config key and no way out."""
    lm = zoo.train(_token_config(corpus, tmp_path / "lm", "lm", training={"epochs": 1})).run_dir
    with pytest.raises(ConfigError) as error:
        zoo.train(_finetune_config(corpus, lm, tmp_path / "ft"))
    assert str(error.value) == (f"model.init_from: {lm} holds a causal (lm) encoder, which reads left to right, and "
                                "this model needs a bidirectional (mlm) encoder: start it from a zoo pretrain run with "
                                "model.name: mlm")
    assert not (tmp_path / "ft").exists()

def test_zoo_pretrain_refuses_a_classifier(capsys):
    assert main(["pretrain", "--set", "model.name=cnn"]) == 2
    assert "zoo pretrain trains an mlm or lm model" in capsys.readouterr().err


def test_freeze_blocks_keeps_the_lowest_blocks(corpus, pretrained, tmp_path):
    donor = zoo.load_run(pretrained)[0]
    result = zoo.train(_finetune_config(corpus, pretrained, tmp_path / "frozen", freeze_blocks=1))
    for got, want in zip(result.model.backbone.blocks[0].get_weights(), donor.backbone.blocks[0].get_weights()):
        np.testing.assert_array_equal(got, want)
    moved = [np.abs(a - b).max() for a, b in zip(result.model.backbone.token_embedding.get_weights(),
                                                 donor.backbone.token_embedding.get_weights())]
    assert max(moved) > 0
    with pytest.raises(ConfigError, match="model.freeze_blocks: 2 is more than the model's 1 encoder blocks"):
        freeze_blocks(result.model, 2)


def test_the_cnn_is_trained_and_scored_on_rows_of_its_full_length_as_it_is_served(tiny_csv, tmp_path):
    # Its max-over-time pooling reads padded positions: batches cut to their longest row gave other logits
    # than serving's full-length rows, so metrics.json's test loss was not the evaluated model's.
    assert Objective(trim=False).prepare(tf.ones([2, 16], tf.int32), None)[0].shape == (2, 16)
    config = tiny_config(tiny_csv, tmp_path / "run", model={"name": "cnn", "overrides": {"num_filters": 8}},
                         training={"epochs": 1, "batch_size": 16, "seed": 1, "label_smoothing": 0.0})
    config["data"]["sequence_length"] = 64  # rows of up to 13 tokens: a cut batch is 16 wide
    run = zoo.train(config)
    report = zoo.evaluate(run.run_dir, progress=False)
    assert report["metrics"]["num_examples"] == run.metrics["examples"]["test"]
    assert report["metrics"]["accuracy"] == pytest.approx(run.metrics["test"]["accuracy"])
    assert report["metrics"]["log_loss"] == pytest.approx(run.metrics["test"]["loss"], abs=2e-6)
