"""Bad input to the exported model: each gives a defined result or a clear error, never a crash."""
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from zoo.cli import main


@pytest.fixture(scope="module")
def serving(exported):
    loaded = tf.saved_model.load(str(exported.path))
    return loaded, loaded.signatures["serving_default"], loaded.signatures["serve_token_ids"]


def _run(serve, texts):
    out = serve(texts=tf.constant(texts, tf.string))
    return {k: v.numpy() for k, v in out.items()}


def _assert_valid(out, n, label_names):
    probs = out["probabilities"]
    assert probs.shape == (n, len(label_names)) and np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    assert out["label_id"].shape == (n,) and out["label"].shape == (n,)
    assert all(s.decode() in label_names for s in out["label"])


def test_empty_string_gives_the_all_padding_prediction_flagged(serving, tiny_run):
    loaded, serve, serve_ids = serving
    out = _run(serve, ["", "   ", "<br />", "superb"])
    _assert_valid(out, 4, tiny_run.label_names)
    assert out["empty_input"].tolist() == [True, True, True, False]
    assert not out["replaced_bytes"].any()
    # nothing left after cleaning is the model's answer for an all-padding row
    padding_only = serve_ids(token_ids=tf.zeros([1, 24], tf.int32))
    assert padding_only["empty_input"].numpy().tolist() == [True]
    np.testing.assert_allclose(out["probabilities"][:3], np.repeat(padding_only["probabilities"].numpy(), 3, 0),
                               atol=1e-6)


def test_the_cli_flags_an_empty_text_as_the_saved_model_does(serving, exported, capsys, caplog):
    _, serve, _ = serving
    assert main(["predict", str(exported.path), "", "superb"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = _run(serve, ["", "superb"])
    assert [r["empty_input"] for r in records] == expected["empty_input"].tolist() == [True, False]
    for record, row in zip(records, expected["probabilities"]):
        np.testing.assert_allclose(list(record["probabilities"].values()), row, atol=1e-6)
    assert ("warning: 1 of 2 texts had nothing left after cleaning; each is predicted as empty input; flagged "
            "empty_input (first: text 1)") in caplog.text


def test_zoo_predict_reads_a_utf16_file_by_its_byte_order_mark(exported, tmp_path, capsys):
    # Excel's "Unicode Text" export; --encoding defaulted to utf-8 and the header read as "\udcff\udcfet\x00e..."
    (tmp_path / "in.tsv").write_bytes("id\ttext\n1\tsuperb\n2\tdull\n".encode("utf-16"))
    assert main(["predict", str(exported.path), "--input", str(tmp_path / "in.tsv"), "--no-progress"]) == 0
    assert [json.loads(line)["text"] for line in capsys.readouterr().out.splitlines()] == ["superb", "dull"]


def test_blank_lines_of_a_txt_input_are_flagged_as_the_saved_model_flags_them(serving, exported, tmp_path, capsys,
                                                                               caplog):
    _, serve, _ = serving
    lines = ["superb", "", "   ", "<br />", "dull"]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["predict", str(exported.path), "--input", str(tmp_path / "in.txt"), "--no-progress"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = _run(serve, lines)
    assert [r["text"] for r in records] == lines
    assert [r["empty_input"] for r in records] == expected["empty_input"].tolist() == [False, True, True, True, False]
    np.testing.assert_allclose([list(r["probabilities"].values()) for r in records], expected["probabilities"],
                               atol=1e-6)
    assert "warning: 3 of 5 texts had nothing left after cleaning" in caplog.text and "(first: text 2)" in caplog.text


def test_a_pair_with_an_empty_side_is_flagged_from_texts_and_from_ids(bert_pairs, caplog):
    tokenizer, _, predictor = bert_pairs
    pairs = [("the film", "is good"), ("", "is good"), ("the film", ""), ("", ""), ("  ", "fun")]
    assert predictor.predict(pairs).empty_input.tolist() == [False, True, True, True, True]
    assert ("warning: 4 of 5 pairs had a text with nothing left after cleaning; each is predicted on what is left; "
            "flagged empty_input (first: pair 2)") in caplog.text
    # serve_token_ids reads a pair's two texts from its segment ids: [CLS] film [SEP] film [SEP], B empty, A empty
    serve_ids = predictor.graph.endpoints()["serve_token_ids"]
    film = tokenizer.encode(tf.constant(["film"]), 3).numpy()[0, 1]
    cls, sep = tokenizer.cls_id, tokenizer.sep_id
    by_ids = serve_ids(
        tf.constant([[cls, film, sep, film, sep], [cls, film, sep, sep, 0], [cls, sep, film, sep, 0]]),
        tf.constant([[0, 0, 0, 1, 1], [0, 0, 0, 1, 0], [0, 0, 1, 1, 0]]))
    assert by_ids["empty_input"].numpy().tolist() == [False, True, True]


def test_100kb_string_is_truncated_to_the_sequence_length_and_flagged(serving, tiny_run):
    loaded, serve, serve_ids = serving
    words = "the plot was dull and the acting tedious but the ending superb ".split()
    huge = " ".join(words[i % len(words)] for i in range(20000))
    assert len(huge.encode()) > 100_000
    first_24 = " ".join(words[i % len(words)] for i in range(24))
    first_25 = " ".join(words[i % len(words)] for i in range(25))
    out = _run(serve, [huge, words[0], first_24, first_25])
    _assert_valid(out, 4, tiny_run.label_names)
    np.testing.assert_allclose(out["probabilities"][0], out["probabilities"][2], atol=1e-6)
    # the model reads 24 tokens: a text of 24 is whole, one of 25 is cut (it was cut with no word of it)
    assert out["truncated"].tolist() == [True, False, False, True]
    # token ids past the sequence length are cut and flagged the same way; padding past it is no loss
    ids = tiny_run.tokenizer.encode(tf.constant([first_25]), 30).numpy()
    by_ids = serve_ids(token_ids=tf.constant(np.concatenate([ids, np.where(np.arange(30) < 24, ids, 0)]), tf.int32))
    assert by_ids["truncated"].numpy().tolist() == [True, False]
    np.testing.assert_allclose(by_ids["probabilities"].numpy(), out["probabilities"][[3, 3]], atol=1e-6)


def test_zoo_predict_counts_the_texts_it_cuts(exported, tmp_path, capsys, caplog):
    long = " ".join(["dull"] * 10 + ["superb"] * 40)
    (tmp_path / "in.txt").write_text(f"superb\n{long}\n{long}\n", encoding="utf-8")
    assert main(["predict", str(exported.path), "--input", str(tmp_path / "in.txt"), "--no-progress"]) == 0
    assert [json.loads(line)["truncated"] for line in capsys.readouterr().out.splitlines()] == [False, True, True]
    # zoo predict cut long texts to the model's length without a word
    assert ("warning: 2 of 3 texts had more tokens than the model reads (24, special tokens included); each is "
            "predicted on what fits, cut as training cut it; flagged truncated (first: text 2)") in caplog.text


def test_pair_batches_of_different_sizes_are_refused_naming_both_inputs(bert_pairs):
    _, _, predictor = bert_pairs
    # it failed deep in the graph: "Incompatible shapes: [2] vs. [3]" at a RaggedMask assert
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"text_a and text_b must hold as many texts \(a pair "
                                                             r"per row\)"):
        predictor.graph.serve_pairs(tf.constant(["a b", "c"]), tf.constant(["d", "e", "f"]))


def test_packed_texts_and_pairs_are_flagged_truncated_only_when_cut(bert_pairs, caplog):
    from zoo.export.predict import InMemoryPredictor

    tokenizer, model, pairs = bert_pairs
    film = lambda n: " ".join(["film"] * n)  # noqa: E731  one WordPiece token per word
    # [CLS] 14 words [SEP] fills the 16 positions and is whole; pack() cuts the 15th word (and keeps [SEP])
    single = InMemoryPredictor(model, tokenizer, ["no", "yes"])
    assert single.predict([film(14), film(15), film(1)]).truncated.tolist() == [False, True, False]
    assert single.predict([film(3), film(1)]).truncated.tolist() == [False, False], "no row fills the length"
    # a pair has 13 positions for its two texts ([CLS] A [SEP] B [SEP])
    cases = [(film(7), film(6)), (film(7), film(7)), (film(13), ""), (film(20), film(1)), (film(2), film(2))]
    assert pairs.predict(cases).truncated.tolist() == [False, True, False, True, False]
    assert ("warning: 2 of 5 pairs had more tokens than the model reads (16, special tokens included); each is "
            "predicted on what fits, cut as training cut it (longest text first); flagged truncated (first: pair "
            "2)") in caplog.text


def test_invalid_utf8_bytes_are_replaced_and_flagged(serving, tiny_run):
    loaded, serve, _ = serving
    bad = [b"\xff\xfe superb film", b"dull \xc3\x28 plot", b"\x80", "caf\u00e9 \ufffd".encode()]
    out = _run(serve, bad)
    _assert_valid(out, 4, tiny_run.label_names)
    assert out["replaced_bytes"].tolist() == [True, True, True, False], "a real U+FFFD is valid UTF-8"
    replaced = [b.decode("utf-8", errors="replace") for b in bad]
    np.testing.assert_allclose(out["probabilities"], _run(serve, replaced)["probabilities"], atol=1e-6)


def test_zoo_predict_agrees_with_the_saved_model_on_invalid_bytes(serving, exported, tmp_path, capsys, caplog):
    _, serve, _ = serving
    # Not at the file's start: there "\xff\xfe" is UTF-16's byte-order mark, which decides the file's encoding.
    bad = [b"superb \xff\xfe film", b"dull \xc3\x28 plot"]
    (tmp_path / "bad.txt").write_bytes(b"\n".join(bad) + b"\n")
    # a file, and the same bytes as command-line arguments (which Python hands over as surrogate escapes)
    assert main(["predict", str(exported.path), "--input", str(tmp_path / "bad.txt"), "--no-progress"]) == 0
    assert main(["predict", str(exported.path)] + [os.fsdecode(b) for b in bad]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = _run(serve, bad)
    for records in (lines[:2], lines[2:]):
        records = [json.loads(line) for line in records]
        assert [r["replaced_bytes"] for r in records] == [True, True]
        assert [r["text"] for r in records] == [b.decode("utf-8", "replace") for b in bad]
        np.testing.assert_allclose([list(r["probabilities"].values()) for r in records], expected["probabilities"],
                                   atol=1e-6)
    assert "warning: 2 of 2 texts held bytes that are not UTF-8, replaced by U+FFFD" in caplog.text


def test_empty_batch_gives_empty_outputs(serving, tiny_run):
    loaded, serve, serve_ids = serving
    out = _run(serve, [])
    assert out["probabilities"].shape == (0, 2) and out["label_id"].shape == (0,) and out["label"].shape == (0,)
    by_ids = serve_ids(token_ids=tf.zeros([0, 5], tf.int32))
    assert by_ids["probabilities"].shape == (0, 2)


def test_bad_token_ids_raise_clear_errors(serving, tiny_run):
    loaded, _, serve_ids = serving
    vocab = tiny_run.tokenizer.vocab_size
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"token ids must be < vocab_size {vocab}"):
        serve_ids(token_ids=tf.constant([[5, vocab]], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="token ids must be >= 0"):
        serve_ids(token_ids=tf.constant([[5, -1]], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a int32 tensor but is a float"):
        serve_ids(token_ids=tf.constant([[1.5]], tf.float32))
    # the signatures check the rank they declare (a loaded SavedModel does not) and say which input is wrong
    serve = loaded.signatures["serving_default"]
    for texts, shape in ((tf.constant([[b"a"]]), "[1,1]"), (tf.constant(b"a"), "[]")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=rf"node texts_must_be_a_1-D_batch_of_strings[\s\S]*"
                                                                 rf"Shape of tensor texts {re.escape(shape)} is not "
                                                                 r"compatible with expected shape \[\?\]"):
            serve(texts=texts)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"node token_ids_must_be_a_2-D_batch[\s\S]*"
                                                             r"Shape of tensor token_ids \[2\] is not compatible"):
        serve_ids(token_ids=tf.constant([5, 6], tf.int32))
    # the process survived every one of these and still serves
    ok = serve_ids(token_ids=tf.constant([[5, 6]], tf.int32))["probabilities"].numpy()
    assert ok.shape == (1, 2)
