"""Attention maps and rollout: arrays with the right meaning, heat-maps that are images."""
import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.evaluation.test_reports import assert_png
from zoo.evaluation.attention import attention_rollout, explain, save_explanation, token_importance
from zoo.evaluation.cli import add_explain_command
from zoo.models import attention_maps


def test_rollout_of_self_attention_is_the_identity():
    eye = np.broadcast_to(np.eye(5), (3, 2, 5, 5))
    np.testing.assert_allclose(attention_rollout(eye), np.eye(5))
    np.testing.assert_allclose(token_importance(attention_rollout(eye)), np.full(5, 0.2))


def test_rollout_matches_a_layer_by_layer_reference():
    rng = np.random.default_rng(0)
    att = rng.dirichlet(np.ones(6), size=(3, 4, 6))  # [layers, heads, n, n], rows sum to 1
    reference = np.eye(6)
    for layer in range(3):
        mixed = 0.5 * att[layer].mean(0) + 0.5 * np.eye(6)
        reference = (mixed / mixed.sum(1, keepdims=True)) @ reference
    rollout = attention_rollout(att)
    np.testing.assert_allclose(rollout, reference, atol=1e-12)
    np.testing.assert_allclose(rollout.sum(1), 1.0, atol=1e-12)
    # without the residual term one layer's rollout is just its head average
    np.testing.assert_allclose(attention_rollout(att[:1], residual=False), att[0].mean(0), atol=1e-12)
    assert token_importance(rollout, pooling="cls") == pytest.approx(rollout[0] / rollout[0].sum())
    with pytest.raises(ValueError, match=r"\[layers, heads, n, n\]"):
        attention_rollout(att[0])


def test_a_pooled_classifier_is_explained_by_the_first_positions_rollout():
    import zoo

    # BERT's pooler reads the first position only; its importance was the mean over every position's row.
    tokenizer = zoo.data.build_tokenizer("word", 100).fit(["a good film", "a dull film"])
    backbone = zoo.models.Backbone(vocab_size=tokenizer.vocab_size, sequence_length=16, num_layers=2, d_model=16,
                                   num_heads=2, ff_dim=32, pooler=True)
    model = zoo.models.TextClassifier(backbone, num_classes=2, pooling="pooled", pad_id=tokenizer.pad_id)
    e = explain(model, tokenizer, ["neg", "pos"], "a good film")
    np.testing.assert_allclose(e.importance, e.rollout[0] / e.rollout[0].sum())
    assert not np.allclose(e.importance, e.rollout.mean(0) / e.rollout.mean(0).sum())
    with pytest.raises(ValueError, match="pooling must be one of cls, mean, max, attention, pooled, got 'first'"):
        token_importance(e.rollout, pooling="first")


def test_explain_returns_the_models_attention_over_real_tokens(tiny_run, tmp_path):
    text = "Superb acting, but the plot was dull!"
    e = explain(tiny_run.model, tiny_run.tokenizer, tiny_run.label_names, text)
    ids = tiny_run.tokenizer.tokenize(tf.constant([text])).numpy()[0]
    np.testing.assert_array_equal(e.token_ids, ids)
    assert e.tokens == [t.decode() for t in tiny_run.tokenizer.id_to_token(tf.constant(ids)).numpy()]
    assert "superb" in e.tokens and "dull" in e.tokens
    assert e.attention.shape == (1, 2, len(ids), len(ids))  # 1 layer, 2 heads (transformer-tiny)
    # padding does not change attention among the real tokens
    padded = np.zeros((1, 24), np.int32)
    padded[0, : len(ids)] = ids
    full = attention_maps(tiny_run.model, padded)[0][0]
    np.testing.assert_allclose(e.attention[0], full[:, : len(ids), : len(ids)], atol=1e-5)
    np.testing.assert_allclose(e.attention.sum(-1), 1.0, atol=1e-5)
    assert e.importance.sum() == pytest.approx(1.0)
    assert e.probabilities.sum() == pytest.approx(1.0, abs=1e-6)
    assert e.label == tiny_run.label_names[int(e.probabilities.argmax())]

    files = save_explanation(e, tmp_path)
    assert_png(files["layer_0"])
    assert_png(files["importance"])
    saved = json.loads(files["json"].read_text(encoding="utf-8"))
    assert saved["tokens"] == e.tokens and np.allclose(saved["importance"], e.importance)

    with pytest.raises(ValueError, match="no tokens after cleaning"):
        explain(tiny_run.model, tiny_run.tokenizer, tiny_run.label_names, "  <br /> ")


def test_a_text_with_bytes_that_are_not_utf8_is_explained_as_zoo_predict_reads_it(tiny_run, tmp_path):
    from zoo.export.predict import InMemoryPredictor

    # "caf\xe9" from a latin-1 command line reaches Python as a surrogate; it was TensorFlow's "Error converting
    # unicode string while converting Python sequence to Tensor"
    e = explain(tiny_run.model, tiny_run.tokenizer, tiny_run.label_names, "a dull caf\udce9 film")
    predicted = InMemoryPredictor(tiny_run.model, tiny_run.tokenizer, tiny_run.label_names, 24).predict(
        [b"a dull caf\xe9 film"])
    assert predicted.replaced_bytes[0]
    np.testing.assert_allclose(e.probabilities, predicted.probabilities[0], atol=1e-6)
    assert e.text == "a dull caf\ufffd film"
    saved = json.loads(save_explanation(e, tmp_path)["json"].read_text(encoding="utf-8"))
    assert saved["text"] == e.text and saved["tokens"] == e.tokens


def test_explain_command_on_a_run_directory(trained_run, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="zoo")
    add_explain_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["explain", str(trained_run.run_dir), "a gripping, funny film", "--out", str(tmp_path)])
    assert args.handler(args) == 0
    assert "predicted" in capsys.readouterr().out
    assert_png(tmp_path / "attention_layer_0.png")
    assert_png(tmp_path / "importance.png")


def test_explanations_default_to_a_folder_per_text_in_the_run(trained_run, tmp_path, capsys, monkeypatch):
    # They all went to ./explain, each replacing the one before, whatever run or text it explained.
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(trained_run.run_dir, run_dir)
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser(prog="zoo")
    add_explain_command(parser.add_subparsers(dest="command"))
    folders = []
    for text in ("A gripping, funny film!", "a dull film", "A gripping, funny film!"):
        args = parser.parse_args(["explain", str(run_dir), text])
        assert args.handler(args) == 0
        folders.append(capsys.readouterr().out.splitlines()[-1].removeprefix("heat-maps and explanation.json in "))
    assert Path(folders[0]).parent == run_dir / "explanations" and Path(folders[0]).name.startswith("a-gripping-funny")
    assert folders[0] == folders[2] != folders[1]
    assert sorted(p.name for p in (run_dir / "explanations").iterdir()) == sorted({Path(f).name for f in folders})
    for folder in folders[:2]:
        assert json.loads((Path(folder) / "explanation.json").read_text(encoding="utf-8"))["text"] in (
            "A gripping, funny film!", "a dull film")
    assert not (tmp_path / "explain").exists()


def test_word_pieces_merge_into_words_keeping_rows_stochastic():
    from zoo.evaluation.attention import merge_word_pieces

    tokens = ["[CLS]", "grip", "##ping", "film", "[SEP]"]
    rng = np.random.default_rng(0)
    attention = rng.random((2, 3, 5, 5))
    attention /= attention.sum(-1, keepdims=True)
    importance = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    words, merged, weights = merge_word_pieces(tokens, attention, importance)
    assert words == ["[CLS]", "gripping", "film", "[SEP]"]
    np.testing.assert_allclose(weights, [0.1, 0.5, 0.25, 0.15])
    np.testing.assert_allclose(merged.sum(-1), 1.0)
    # From "gripping": the mean of its pieces' rows; to it: the sum of its pieces' columns.
    a = attention[1, 2]
    np.testing.assert_allclose(merged[1, 2, 1, 1], (a[1, 1] + a[1, 2] + a[2, 1] + a[2, 2]) / 2)
    np.testing.assert_allclose(merged[1, 2, 2, 1], a[3, 1] + a[3, 2])
    np.testing.assert_allclose(merged[1, 2, 0, 2], a[0, 3])
    same, kept, _ = merge_word_pieces(tokens, attention, importance, suffix=None)
    assert same == tokens and np.allclose(kept, attention)


def _explain_cli(argv):
    parser = argparse.ArgumentParser(prog="zoo")
    add_explain_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["explain", *argv])
    return args.handler(args)


def test_explain_on_a_mistyped_run_directory_says_it_is_not_a_run(tmp_path, capsys):
    assert _explain_cli([str(tmp_path / "typo_dir"), "a text", "--out", str(tmp_path / "ex")]) == 2
    assert capsys.readouterr().err == (f"zoo explain: error: {tmp_path}/typo_dir/config.yaml not found: "
                                       f"{tmp_path}/typo_dir is not a finished zoo run directory\n")


def test_explain_output_that_cannot_be_written_is_a_usage_error(trained_run, tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    assert _explain_cli([str(trained_run.run_dir), "a text", "--out", str(blocker / "ex")]) == 2
    assert capsys.readouterr().err == (f"zoo explain: error: cannot write {blocker}/ex: {blocker} is a file, not a "
                                       "directory; set out_dir (--out) to a directory you can write\n")
    # Found only while writing: a directory where explanation.json goes.
    out = tmp_path / "ex"
    (out / "explanation.json").mkdir(parents=True)
    assert _explain_cli([str(trained_run.run_dir), "a text", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"zoo explain: error: cannot write {out}: Is a directory "
                                       f"({out}/explanation.json); set out_dir (--out) to a directory you can write\n")


def test_explain_command_says_when_a_multilabel_model_predicts_no_label(monkeypatch, capsys):
    import zoo.evaluation.attention
    from zoo.evaluation.attention import Explanation

    maps = np.full((1, 1, 2, 2), 0.5)
    e = Explanation("the day", ["the", "day"], np.array([5, 6]), maps, np.eye(2), np.array([0.6, 0.4]),
                    np.array([0.46, 0.39]), "", ["politics", "sports"], ["the", "day"], maps, np.array([0.6, 0.4]),
                    marker_words=(False, False))
    monkeypatch.setattr(zoo.evaluation.attention, "explain_run", lambda *args, **kwargs: e)
    parser = argparse.ArgumentParser(prog="zoo")
    add_explain_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["explain", "runs/tags", "the day"])
    assert args.handler(args) == 0
    # it printed "predicted  (0.460)"
    assert capsys.readouterr().out.startswith(
        "predicted no label (none at or over 0.5; the highest is politics 0.460); most attended words: the 0.60")


def test_explain_command_gives_each_predicted_labels_probability(monkeypatch, capsys):
    import zoo.evaluation.attention
    from zoo.evaluation.attention import Explanation

    maps = np.full((1, 1, 2, 2), 0.5)
    e = Explanation("the day", ["the", "day"], np.array([5, 6]), maps, np.eye(2), np.array([0.6, 0.4]),
                    np.array([0.9, 0.6]), "politics,sports", ["politics", "sports"], ["the", "day"], maps,
                    np.array([0.6, 0.4]), marker_words=(False, False), predicted=(0, 1))
    monkeypatch.setattr(zoo.evaluation.attention, "explain_run", lambda *args, **kwargs: e)
    # it printed "predicted politics,sports (0.900)": the probability of politics alone
    assert _explain_cli(["runs/tags", "the day"]) == 0
    assert capsys.readouterr().out.startswith("predicted politics (0.900), sports (0.600); most attended words:")


@pytest.mark.parametrize("text", ["", "   "])
def test_explaining_a_text_without_words_is_an_error(trained_run, tmp_path, capsys, text):
    # it explained the [CLS] [SEP] markers of the empty text, with no word after "most attended words:"
    assert _explain_cli([str(trained_run.run_dir), text, "--out", str(tmp_path / "ex")]) == 2
    assert capsys.readouterr().err == (f"zoo explain: error: text {text!r} has no tokens after cleaning and "
                                       "tokenisation: nothing to explain; pass a text with words in it\n")
    assert not (tmp_path / "ex").exists()


def test_an_explanation_replaces_the_heat_maps_of_an_earlier_one_in_its_folder(tmp_path):
    from zoo.evaluation.attention import Explanation, merge_word_pieces

    def explanation(layers):
        tokens, attention = ["a", "film"], np.full((layers, 1, 2, 2), 0.5)
        words, word_attention, word_importance = merge_word_pieces(tokens, attention, np.array([0.5, 0.5]))
        return Explanation("a film", tokens, np.array([5, 6]), attention, np.eye(2), np.array([0.5, 0.5]),
                           np.array([0.4, 0.6]), "pos", ["neg", "pos"], words, word_attention, word_importance)

    (tmp_path / "notes.txt").write_text("mine")
    save_explanation(explanation(3), tmp_path)
    # a 1-layer model's explanation left the 3-layer one's layer 1 and 2 heat-maps beside it
    save_explanation(explanation(1), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "attention_layer_0.png", "explanation.json", "importance.png", "notes.txt"]
    assert len(json.loads((tmp_path / "explanation.json").read_text())["attention"]) == 1


def test_an_explanation_says_when_the_model_read_only_the_start_of_the_text(tiny_run, tmp_path, caplog):
    # The model reads 24 tokens: the words after them were missing from the heat-maps without a word.
    long_text = "a dull film " * 5 + "superb " * 20
    e = explain(tiny_run.model, tiny_run.tokenizer, tiny_run.label_names, long_text, sequence_length=24)
    assert e.truncated and len(e.token_ids) == 24 and e.words.count("superb") < 20
    assert "had more tokens than the model reads (24" in caplog.text
    assert json.loads(save_explanation(e, tmp_path)["json"].read_text(encoding="utf-8"))["truncated"] is True
    assert not explain(tiny_run.model, tiny_run.tokenizer, tiny_run.label_names, "a dull film",
                       sequence_length=24).truncated


def test_a_word_the_word_vocabulary_lacks_is_shown_as_written_and_flagged_unknown(tiny_run, tmp_path):
    # Each was shown as [UNK] ("most attended words: [UNK] 0.21, [UNK] 0.21, film 0.20"): a word tokenizer's token
    # is one word of the cleaned text, so the word itself is known.
    text = "A zyzzyva film. superb and quixotic!" + " dull" * 30  # cut after 24 tokens, as the model reads it
    e = explain(tiny_run.model, tiny_run.tokenizer, tiny_run.label_names, text, sequence_length=24)
    assert e.tokens[:8] == ["a", "[UNK]", "film", ".", "superb", "and", "[UNK]", "!"]
    assert e.words == ["a", "zyzzyva", "film", ".", "superb", "and", "quixotic", "!"] + ["dull"] * 16
    assert e.unknown_words == (False, True) + (False,) * 4 + (True,) + (False,) * 17
    assert "zyzzyva" in [word for word, _ in e.most_attended(len(e.words))]
    saved = json.loads(save_explanation(e, tmp_path)["json"].read_text(encoding="utf-8"))
    assert saved["words"] == e.words and saved["tokens"] == e.tokens
    assert saved["unknown_words"] == list(e.unknown_words)


def test_explaining_none_is_refused_as_an_int_is(tiny_run):
    # None reached TensorFlow: "Attempt to convert a value (None) with an unsupported type ... to a Tensor".
    for text in (None, 3):
        with pytest.raises(ValueError, match=rf"^text to explain must be a string, got {type(text).__name__}$"):
            explain(tiny_run.model, tiny_run.tokenizer, tiny_run.label_names, text)


def test_explain_command_marks_the_printed_words_the_model_read_as_unk(monkeypatch, capsys):
    import zoo.evaluation.attention
    from zoo.evaluation.attention import Explanation

    # They printed as if read ("日本語 0.50, film 0.30"): the weights were [UNK]'s, which explanation.json alone said.
    maps = np.full((1, 1, 3, 3), 1 / 3)
    e = Explanation("日本語 film [UNK]", ["[UNK]", "film", "[UNK]"], np.array([1, 6, 1]), maps, np.eye(3),
                    np.array([0.5, 0.3, 0.2]), np.array([0.3, 0.7]), "pos", ["neg", "pos"], ["日本語", "film", "[UNK]"],
                    maps, np.array([0.5, 0.3, 0.2]), marker_words=(False,) * 3, unknown_words=(True, False, True),
                    predicted=(1,))
    monkeypatch.setattr(zoo.evaluation.attention, "explain_run", lambda *args, **kwargs: e)
    assert _explain_cli(["runs/bal", "日本語 film [UNK]"]) == 0
    # WordPiece shows such a word as [UNK] already: it is not marked twice.
    assert capsys.readouterr().out.startswith(
        "predicted pos (0.700); most attended words: 日本語 [UNK] 0.50, film 0.30, [UNK] 0.20 (2 of them not in the "
        "model's vocabulary: it read [UNK] for each)\n")


def test_words_the_plot_font_cannot_draw_are_reported_once_in_zoo_s_words(tmp_path, caplog):
    import warnings

    from zoo.evaluation import plots
    from zoo.evaluation.attention import Explanation

    maps = np.full((2, 1, 3, 3), 1 / 3)
    words = ["日本語", "🎬", "café"]
    e = Explanation(" ".join(words), words, np.array([1, 1, 1]), maps, np.eye(3), np.full(3, 1 / 3),
                    np.array([0.3, 0.7]), "pos", ["neg", "pos"], words, maps, np.full(3, 1 / 3))
    # matplotlib's "Glyph 26085 (\N{CJK UNIFIED IDEOGRAPH-65E5}) missing from font(s) DejaVu Sans." reached the
    # console raw, once per character; the labels drawn as boxes were not named.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        save_explanation(e, tmp_path)
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        "warning: 2 labels hold characters the plot font has no glyph for (日本語, 🎬), drawn as boxes in the PNGs of "
        f"{tmp_path}; explanation.json has them as written"]
    caplog.clear()
    # Outside an explanation, each plot reports its own.
    plots.plot_confusion_matrix([[1, 0], [0, 1]], ["映画", "film"], tmp_path / "cm.png")
    assert [r.getMessage() for r in caplog.records] == [
        f"warning: 1 label holds characters the plot font has no glyph for (映画), drawn as boxes in {tmp_path}/cm.png"]
