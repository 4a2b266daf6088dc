"""How zoo predict, zoo embed and zoo generate read their texts: the same options, files and flags for each."""
import json

import keras
import pytest

import zoo
from tests.converters.checkpoints import write_bert_checkpoint
from tests.export.tiny import sentiment_texts
from zoo.cli import main
from zoo.data import build_tokenizer

# Not UTF-8: the first line's 0xE9 is latin-1's é.
BAD = b"caf\xe9 the\nthe\n"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return write_bert_checkpoint(tmp_path_factory.mktemp("bert"))[0]


@pytest.fixture(scope="module")
def lm_export(tmp_path_factory):
    """An untrained lm's export (core ops only), as ``zoo generate saved_models/NAME`` reads one."""
    from zoo.export.saved_model import export_generator

    texts, _ = sentiment_texts(40, seed=4)
    tokenizer = build_tokenizer("word_core", vocab_size=60).fit(texts + ["the"])
    keras.utils.set_random_seed(0)
    lm = zoo.build("lm", vocab_size=tokenizer.vocab_size, sequence_length=12, num_layers=1, d_model=16,
                   num_heads=2, ff_dim=32)
    return export_generator(lm, tokenizer, "lm", 12, out=tmp_path_factory.mktemp("models") / "lm",
                            max_new_tokens=3).path


def test_zoo_embed_replaces_flags_and_warns_about_bytes_that_are_not_utf8_as_zoo_predict_does(checkpoint, tmp_path,
                                                                                             capsys):
    from zoo.export.embed import embed

    (tmp_path / "bad.txt").write_bytes(BAD)
    assert embed(checkpoint, ["caf\udce9 the", "the"]).replaced_bytes.tolist() == [True, False]
    # the field was dropped and no warning given, though the graph replaces the bytes and flags them
    assert main(["embed", str(checkpoint), "--input", str(tmp_path / "bad.txt")]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["replaced_bytes"] for row in rows] == [True, False]
    assert rows[0]["text"] == "caf\ufffd the"
    assert ("warning: 1 of 2 texts held bytes that are not UTF-8, replaced by U+FFFD before embedding (pass the "
            "input's encoding if it is not UTF-8); flagged replaced_bytes\n") in err


def test_an_export_generates_from_bytes_that_are_not_utf8_and_flags_them(lm_export, tmp_path, capsys):
    from zoo.export.predict import generate_with_export

    rows = generate_with_export(lm_export, ["caf\udce9 the", "the"])
    assert [row["replaced_bytes"] for row in rows] == [True, False]
    assert rows[0]["text"] == "caf\ufffd the"
    (tmp_path / "bad.txt").write_bytes(BAD)
    assert main(["generate", str(lm_export), "--input", str(tmp_path / "bad.txt")]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["replaced_bytes"] for row in rows] == [True, False]


@pytest.mark.parametrize("command", ["predict", "embed", "generate"])
def test_input_file_options_without_an_input_file_are_refused(command, tmp_path, capsys):
    # They were ignored without a word: `zoo predict RUN "a b" --encoding bogus` exited 0.
    model = str(tmp_path / "model")
    assert main([command, model, "a b", "--text-field", "body"]) == 2
    assert capsys.readouterr().err == (f"zoo {command}: error: --text-field applies to --input FILE; texts on the "
                                       "command line are read as they are: leave it out\n")
    assert main([command, model, "a b", "--text-field", "body", "--encoding", "latin-1"]) == 2
    assert capsys.readouterr().err == (f"zoo {command}: error: --text-field and --encoding apply to --input FILE; "
                                       "texts on the command line are read as they are: leave them out\n")


def test_a_seq2seq_export_reads_the_source_column_of_an_input_file(tmp_path, capsys):
    from zoo.export.saved_model import export_generator

    tokenizer = build_tokenizer("word_core", vocab_size=40).fit(["a b c", "c b a"])
    model = zoo.build("seq2seq", vocab_size=tokenizer.vocab_size, sequence_length=8, num_layers=1, d_model=16,
                      num_heads=2, ff_dim=32)
    config = zoo.Config.from_dict({"model": {"name": "seq2seq"}})  # as zoo export writes the run's
    path = export_generator(model, tokenizer, "seq2seq", 8, config, out=tmp_path / "s2s", max_new_tokens=2).path
    # the file it trained on: it failed with "no 'text' field"
    (tmp_path / "s3.jsonl").write_text('{"source": "a b c", "target": "c b a"}\n')
    assert main(["generate", str(path), "--input", str(tmp_path / "s3.jsonl")]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["text"] == "a b c" and row["target"] == "c b a"


def test_no_texts_give_no_embeddings_as_they_give_no_predictions(checkpoint):
    # zoo.embed raised "texts must be a non-empty list of strings" where zoo.predict returns []
    empty = zoo.embed(checkpoint, [])
    assert empty.vectors.shape == (0, 32) and empty.truncated.shape == empty.replaced_bytes.shape == (0,)
    with pytest.raises(ValueError, match=r"^texts must be a list of strings, got 'a film'"):
        zoo.embed(checkpoint, "a film")


def test_an_input_file_is_read_from_the_text_column_its_run_trained_on(tmp_path, capsys):
    # A run trained with data.load_options.text_column: review could not read its own file without --text-field.
    texts, labels = sentiment_texts(60, seed=8)
    data = tmp_path / "reviews.csv"
    names = ["negative", "positive"]
    data.write_text("review,label\n" + "".join(f"{t},{names[y]}\n" for t, y in zip(texts, labels)))
    run = zoo.train({"data": {"source": str(data), "load_options": {"text_column": "review"}, "vocab_size": 100,
                              "sequence_length": 16},
                     "model": {"overrides": {"num_layers": 1, "d_model": 16, "num_heads": 2, "ff_dim": 32}},
                     "training": {"epochs": 1, "batch_size": 16},
                     "output": {"dir": str(tmp_path / "run"), "progress": "none", "tensorboard": False}})
    assert main(["export", str(run.run_dir), "--out", str(tmp_path / "exported")]) == 0
    capsys.readouterr()
    for model in (run.run_dir, tmp_path / "exported"):
        assert main(["predict", str(model), "--input", str(data)]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [row["text"] for row in rows] == texts and rows[0]["input_label"] in ("negative", "positive")
    # --text-field still names another column, and a file without the run's column says which it looked for.
    (tmp_path / "plain.jsonl").write_text(json.dumps({"body": texts[0]}) + "\n")
    assert main(["predict", str(run.run_dir), "--input", str(tmp_path / "plain.jsonl"), "--text-field", "body"]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == texts[0]
    assert main(["predict", str(run.run_dir), "--input", str(tmp_path / "plain.jsonl")]) == 2
    assert "no 'review' field" in capsys.readouterr().err
