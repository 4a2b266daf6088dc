"""``model.init_from`` a seq2seq run's encoder, and the tokenizer coverage of the data it is given."""
import csv
import json
import logging

import numpy as np
import pytest

import zoo
from tests.training.conftest import tiny_config, write_tiny_csv
from zoo.data import LabeledTexts
from zoo.training.transfer import UNKNOWN_WARNING_SHARE, unknown_tokens, unknown_tokens_warning

TINY = {"num_layers": 1, "d_model": 16, "num_heads": 2, "ff_dim": 32, "dropout": 0.0}


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    return write_tiny_csv(tmp_path_factory.mktemp("data") / "tiny.csv")


@pytest.fixture(scope="module")
def seq2seq_run(texts, tmp_path_factory):
    """A finished seq2seq run that reverses the classifier data's texts (so its tokenizer knows their words)."""
    base = tmp_path_factory.mktemp("seq2seq")
    with open(texts, encoding="utf-8") as handle:
        sources = [row["text"] for row in csv.DictReader(handle)]
    pairs = base / "reverse.csv"
    with open(pairs, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "target"])
        writer.writerows([text, " ".join(reversed(text.split()))] for text in sources)
    return zoo.train(tiny_config(pairs, base / "rev", model={"name": "seq2seq", "overrides": TINY},
                                 training={"epochs": 1, "batch_size": 32})).run_dir


def test_a_classifier_starts_from_a_seq2seq_runs_bidirectional_encoder(texts, seq2seq_run, tmp_path):
    # Documented now (README: model.init_from): the encoder of a seq2seq run is the Backbone a classifier reads with.
    donor = zoo.load_run(seq2seq_run)[0]
    assert not donor.backbone.causal
    result = zoo.train(tiny_config(texts, tmp_path / "ft", model={"init_from": str(seq2seq_run), "freeze": "encoder",
                                                                   "overrides": TINY}, training={"epochs": 1}))
    for got, want in zip(result.model.backbone.get_weights(), donor.backbone.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    ids = result.tokenizer.tokenize(["w1 w2 w3 w4"]).to_tensor().numpy()
    encoded = result.model.backbone({"token_ids": ids, "padding_mask": ids != 0})["sequence_output"]
    np.testing.assert_allclose(np.asarray(encoded), np.asarray(donor.encode(ids)[0]), atol=1e-6)
    assert result.tokenizer.vocabulary == zoo.load_run(seq2seq_run)[1].vocabulary


def test_unknown_tokens_counts_the_words_the_vocabulary_lacks_not_the_added_markers():
    tokenizer = zoo.data.build_tokenizer("word", 100, add_cls=True).fit(["a good film"])
    pairs = LabeledTexts(["a dull film", "a bad plot"], [0, 0], ["neg"], text_pairs=["good", "plot"])
    assert unknown_tokens(tokenizer, pairs) == (4, 8)  # dull, bad, plot; the pair's plot; no [CLS]


def test_a_tokenizer_that_reads_most_tokens_as_unknown_is_warned_about_with_the_share():
    # A seq2seq run on letters gave MR's classifier a 17-token vocabulary: 97 % of its tokens were [UNK], and it
    # trained on them without a word.
    letters = zoo.data.build_tokenizer("word", 100).fit(["a b c d e f g h"])
    data = LabeledTexts(["a gripping film", "a dull b movie ."], [1, 0], ["neg", "pos"])
    assert unknown_tokens(letters, data) == (5, 8)
    assert unknown_tokens_warning(letters, data, "runs/letters") == (
        "62% of the training texts' tokens (5 of 8) are unknown to the tokenizer of runs/letters (a vocabulary of 13 "
        "tokens, fitted on its data): they read as [UNK], so its encoder sees little of them; start from a run "
        "pretrained on text like these, or leave model.init_from out")
    words = zoo.data.build_tokenizer("word", 100).fit(["a gripping film", "a dull movie"])
    assert unknown_tokens(words, data)[0] / 8 <= UNKNOWN_WARNING_SHARE
    assert unknown_tokens_warning(words, data, "runs/words") is None


def test_training_from_a_run_whose_vocabulary_misses_most_tokens_warns_once(texts, tmp_path, caplog):
    # A classifier started from a run on other text (17 letters) trained on texts almost all [UNK], without a word.
    letters = tmp_path / "letters.csv"
    letters.write_text("source,target\n" + "".join(f"{a} {b},{b} {a}\n" for a in "abcdefgh" for b in "abcdefgh"))
    run = zoo.train(tiny_config(letters, tmp_path / "rev", model={"name": "seq2seq", "overrides": TINY},
                                training={"epochs": 1})).run_dir
    with caplog.at_level(logging.WARNING):
        zoo.train(tiny_config(texts, tmp_path / "ft", model={"init_from": str(run), "overrides": TINY},
                              training={"epochs": 1}))
    assert caplog.text.count(f"are unknown to the tokenizer of {run}") == 1


def test_continued_pretraining_adopts_the_pretraining_runs_encoder_sizes(tmp_path):
    # mlm from an mlm run under its builder's default sizes failed "the encoder differs ... (d_model: 128 here, 32
    # in runs/pre ...)", where a classifier from the same run adopted them.
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"w{i % 7} w{i % 5} w{i % 3} film\n" for i in range(64)), encoding="utf-8")
    sizes = {"num_layers": 1, "d_model": 16, "num_heads": 2, "ff_dim": 32}
    first = zoo.train(tiny_config(corpus, tmp_path / "pre", model={"name": "mlm", "overrides": sizes},
                                  training={"epochs": 1})).run_dir
    result = zoo.train(tiny_config(corpus, tmp_path / "more", model={"name": "mlm", "overrides": {},
                                                                     "init_from": str(first)},
                                   training={"epochs": 1}))
    backbone = result.model.backbone
    assert {key: getattr(backbone, key) for key in sizes} == sizes
    assert json.loads((result.run_dir / "model.json").read_text())["arguments"].items() >= sizes.items()
