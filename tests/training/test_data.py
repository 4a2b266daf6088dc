"""A run's data from its config: duplicates, classes, the multi-label format, and the sequence length."""
import csv
import io
import json
import logging
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tensorflow as tf

import zoo.data

from tests.training.conftest import tiny_config
from zoo.config import Config, ConfigError
from zoo.training import load_run, train
from zoo.training.data import (
    AUTO_MAX_LENGTH,
    auto_sequence_length,
    classification_mode,
    example_input,
    load_splits,
    model_arguments,
    positions_needed,
    split_texts,
)


def _config(source, **data):
    return Config.from_dict({"data": {"source": str(source), "validation_split": 0.2, "test_split": 0.2, **data}})


def _repeated(path, unique, copies):
    rows = [(f"text number {i}", "pos" if i % 2 else "neg") for i in range(unique)]
    path.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows * copies), encoding="utf-8")
    return path


def _texts(texts, pairs=None):
    return zoo.data.LabeledTexts(list(texts), np.zeros(len(texts), np.int32), ["x"],
                                 text_pairs=None if pairs is None else list(pairs))


def test_the_example_input_is_the_first_short_held_out_example():
    long = " ".join(["word"] * 13)
    splits = {"train": _texts(["a train text"]), "validation": _texts(["a validation text"]),
              "test": _texts([long, "a short test text", "another"])}
    assert example_input(splits, "classification") == ("a short test text",)
    assert example_input({**splits, "test": None}, "seq2seq") == ("a validation text",)
    # Nothing short: the first example's first twelve words.
    assert example_input({**splits, "test": _texts([long + " end"])}, "classification") == (long[:-5],)
    # A pair is short when both texts are; an lm gets a beginning to continue.
    pairs = _texts(["short a", "short b"], [long, "short c"])
    assert example_input({"train": pairs, "validation": None, "test": None}, "classification") == ("short b",
                                                                                                    "short c")
    assert example_input({"train": _texts(["one two three four five"])}, "lm") == ("one two three four",)
    assert example_input({"train": _texts([]), "test": None}, "classification") == ()


def test_extra_sources_take_their_own_load_options_and_errors_name_the_entry(tmp_path):
    # An extra source was read with load()'s defaults whatever it was: a CSV with another text column, a latin-1
    # file or a .txt corpus could not be added, and the errors' fixes (text_column=, encoding=) had no key.
    main = tmp_path / "main.txt"
    main.write_text("".join(f"main text {i}\n" for i in range(20)), encoding="utf-8")
    (tmp_path / "notes.csv").write_text("id,body\n1,a note\n", encoding="utf-8")
    (tmp_path / "old.txt").write_bytes("caf\xe9 text\n".encode("latin-1"))
    extra = [{"source": str(tmp_path / "notes.csv"), "text_column": "body"},
             {"source": str(tmp_path / "old.txt"), "encoding": "latin-1"}]
    config = Config.from_dict({"model": {"name": "mlm"}, "data": {"source": str(main), "extra_sources": extra}})
    train = split_texts(config)["train"]
    assert train.texts[-2:] == ["a note", "caf\u00e9 text"] and len(train) == 16 + 2
    assert train.source.endswith(f" + {tmp_path / 'notes.csv'} + {tmp_path / 'old.txt'}")
    config.data.extra_sources = [extra[0], str(tmp_path / "old.txt")]
    with pytest.raises(zoo.data.EncodingError) as err:
        split_texts(config)
    assert err.value.__notes__ == [f"in a run config, these are options of data.extra_sources[1]: write the entry as "
                                   f"{{source: {tmp_path / 'old.txt'}, encoding: ...}}"]
    config.data.extra_sources = [{"source": str(tmp_path / "notes.csv"), "label_column": "id"}]
    with pytest.raises(ConfigError, match=r"^data\.extra_sources\[0\]\.label_column: not an option of an extra "
                                          r"source \(its labels are ignored\); its options: encoding, text_column"):
        split_texts(config)
    with pytest.raises(ConfigError, match=r"extra_sources\[0\] must be a data source string, or a mapping"):
        Config.from_dict({"data": {"extra_sources": [{"text_column": "body"}]}})


def test_extra_source_texts_held_out_from_training_are_left_out_of_it(tmp_path, caplog):
    # An extra source holding the main source (the README's mr + subj, say) put the validation and test texts
    # into training, and the held-out perplexity measured memory.
    main = tmp_path / "main.txt"
    main.write_text("".join(f"main text {i}\n" for i in range(20)), encoding="utf-8")
    (tmp_path / "more.txt").write_text("".join(f"main text {i}\n" for i in range(20)) + "a new text\n",
                                       encoding="utf-8")
    config = Config.from_dict({"model": {"name": "mlm"}, "data": {"source": str(main), "validation_split": 0.2,
                                                                   "test_split": 0.2,
                                                                   "extra_sources": [str(tmp_path / "more.txt")]}})
    with caplog.at_level(logging.WARNING):
        splits = split_texts(config)
    held_out = set(splits["validation"].texts) | set(splits["test"].texts)
    assert len(held_out) == 8 and not held_out & set(splits["train"].texts)
    # The other repeats go as the main source's do: "a new text" is the one extra text training gains.
    assert len(splits["train"]) == 12 + 1 and "a new text" in splits["train"].texts
    assert (f"data.extra_sources: left out 8 texts of {tmp_path / 'more.txt'} that are held out as validation or "
            "test texts (held-out scores on them would measure memory)") in caplog.text
    assert "removed 12 duplicate texts" in caplog.text
    # Without data.deduplicate the user keeps every text, as for the main source.
    splits = split_texts(config.update({"data.deduplicate": False}))
    assert len(splits["train"]) == 12 + 21


def test_duplicates_are_removed_before_splitting_and_counted(tmp_path, caplog):
    source = _repeated(tmp_path / "repeated.csv", 10, 24)
    with caplog.at_level(logging.WARNING):
        splits = split_texts(_config(source))
    assert f"{source}: removed 230 duplicate texts" in caplog.text
    parts = [splits[name].texts for name in ("train", "validation", "test")]
    assert sum(map(len, parts)) == 10 and not set(parts[0]) & (set(parts[1]) | set(parts[2]))


def test_a_seq2seq_run_keeps_every_reference_and_each_source_in_one_split(tmp_path, caplog):
    # 150 pairs over 50 sources: "removed 100 duplicate texts (100 with a different label ...)" left 40/5/5.
    source = tmp_path / "refs.csv"
    rows = [(f"source sentence {i}", f"target {i} variant {j}") for i in range(50) for j in range(3)]
    source.write_text("source,target\n" + "".join(f"{a},{b}\n" for a, b in rows + rows[:2]), encoding="utf-8")
    config = Config.from_dict({"model": {"name": "seq2seq"}, "data": {"source": str(source)}})
    with caplog.at_level(logging.WARNING):
        splits = split_texts(config)
    assert [len(splits[name]) for name in ("train", "validation", "test")] == [120, 15, 15]
    assert f"{source}: removed 2 duplicate (source, target) pairs" in caplog.text and "label" not in caplog.text
    parts = [set(splits[name].texts) for name in ("train", "validation", "test")]
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    # Without data.deduplicate the repeated pairs stay, and still no source straddles the splits.
    splits = split_texts(config.update({"data.deduplicate": False}))
    parts = [splits[name].texts for name in ("train", "validation", "test")]
    assert sum(map(len, parts)) == 152 and not set(parts[0]) & (set(parts[1]) | set(parts[2]))


def test_an_lm_runs_deduplication_says_nothing_of_labels(tmp_path, caplog):
    source = tmp_path / "corpus.txt"
    source.write_text("".join(f"line {i % 30}\n" for i in range(42)), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        splits = split_texts(Config.from_dict({"model": {"name": "lm"}, "data": {"source": str(source)}}))
    assert sum(len(splits[name]) for name in ("train", "validation", "test")) == 30
    assert f"{source}: removed 12 duplicate texts" in caplog.messages and "label" not in caplog.text


def test_the_hostile_five_rows_times_48_are_too_few_once_deduplicated(tmp_path):
    source = _repeated(tmp_path / "repeated.csv", 5, 48)
    with pytest.raises(ValueError, match=r"repeated.csv \[deduplicated\]: a stratified test split of 5 examples "
                                         r"into 1 and 4 cannot hold all 2 classes on both sides"):
        split_texts(_config(source))


def test_without_deduplication_copies_straddle_the_splits(tmp_path, caplog):
    source = _repeated(tmp_path / "repeated.csv", 5, 48)
    with caplog.at_level(logging.WARNING):
        splits = split_texts(_config(source, deduplicate=False))
    assert "duplicate" not in caplog.text
    assert len(splits["train"]) + len(splits["validation"]) + len(splits["test"]) == 240
    assert set(splits["test"].texts) <= set(splits["train"].texts), "what deduplication prevents"


def test_a_given_test_file_sharing_texts_with_training_is_reported(tmp_path, caplog):
    train = tmp_path / "train.csv"
    train.write_text("text,label\n" + "".join(f"text {i},{'ab'[i % 2]}\n" for i in range(40)), encoding="utf-8")
    test = tmp_path / "test.csv"
    test.write_text("text,label\nnew text,a\ntext 3,b\ntext 8,a\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        splits = split_texts(_config(train, test_source=str(test)))
    assert (f"2 of the 3 texts of {test} also occur in the training data {train} (first: {test}, line 3)"
            in caplog.text)
    assert len(splits["test"]) == 3, "a given test set is kept as it is"


def test_near_copies_count_as_duplicates_when_the_tokenizer_reads_them_alike(tmp_path, caplog):
    # Each text three times, in case and spacing variants, was kept three times and straddled the splits.
    rows = [(f"text number {i}", "ab"[i % 2]) for i in range(100)]
    variants = [(t, y) for text, y in rows for t in (text, text.capitalize() + " ", "  " + text.replace(" ", "  "))]
    source = tmp_path / "near.csv"
    source.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in variants), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        splits = split_texts(_config(source))
    assert f"{source}: removed 200 duplicate texts" in caplog.text
    assert sum(len(splits[name]) for name in ("train", "validation", "test")) == 100
    # With cleaning.lowercase false the tokenizer tells the capitalised copy apart: only the spacing copy goes.
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        split_texts(_config(source, cleaning={"lowercase": False}))
    assert f"{source}: removed 100 duplicate texts" in caplog.text
    # A given test file's near copies of training texts are reported with the same comparison.
    test = tmp_path / "test.csv"
    test.write_text("text,label\nTEXT  number 3,b\nnew text,a\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        split_texts(_config(source, test_source=str(test)))
    assert f"1 of the 2 texts of {test} also occur in the training data" in caplog.text


def test_a_given_split_file_is_read_in_its_own_encoding(tmp_path):
    # A UTF-8 test file next to a latin-1 training file was read as latin-1: "café" became "cafÃ©", silently.
    train = tmp_path / "train.csv"
    train.write_bytes(("text,label\n" + "".join(f"café {i},{'ab'[i % 2]}\n" for i in range(40))).encode("latin-1"))
    utf8, latin1 = tmp_path / "utf8.csv", tmp_path / "latin1.csv"
    utf8.write_text("text,label\ncafé crème,a\nnew text,b\n", encoding="utf-8")
    latin1.write_bytes("text,label\nthé vert,a\nnew text,b\n".encode("latin-1"))
    for given, text in ((utf8, "café crème"), (latin1, "thé vert")):
        splits = split_texts(_config(train, test_source=str(given), validation_source=str(given),
                                     load_options={"encoding": "latin-1"}))
        assert splits["test"].texts[0] == splits["validation"].texts[0] == text
        assert splits["train"].texts[0].startswith("café")
    # A file that is neither UTF-8 nor in the training data's encoding: the note says how it is read.
    with pytest.raises(zoo.data.EncodingError) as err:
        split_texts(_config(utf8, test_source=str(latin1), load_options={"encoding": "utf-8"}))
    assert err.value.__notes__ == ["data.test_source is read as UTF-8 (or UTF-16/UTF-32 by its byte-order mark), "
                                   "else in data.load_options.encoding, the training data's: save it in one of "
                                   "these, e.g. iconv -f latin-1 -t utf-8 OLD > NEW"]


def test_a_bad_row_s_error_names_the_run_config_key_that_skips_it(tmp_path):
    # zoo evaluate named --on-bad-rows skip; zoo train's error named no fix.
    source = _repeated(tmp_path / "missing.csv", 20, 1)
    source.write_text(source.read_text(encoding="utf-8") + "an orphan,\n", encoding="utf-8")
    with pytest.raises(zoo.data.BadRowError, match="missing.csv, line 22, column 'label': empty label") as err:
        split_texts(_config(source))
    assert err.value.__notes__ == ["fix or remove that row, or --set data.load_options.on_bad_rows=skip to leave out "
                                   "such rows (a warning counts them)"]
    assert len(split_texts(_config(source, load_options={"on_bad_rows": "skip"}))["train"]) == 12
    # An extra source's bad row names its entry's own option.
    (tmp_path / "extra.jsonl").write_text('{"text": null}\n', encoding="utf-8")
    config = Config.from_dict({"model": {"name": "mlm"}, "data": {"source": str(tmp_path / "missing.csv"),
                                                                   "extra_sources": [str(tmp_path / "extra.jsonl")]}})
    with pytest.raises(zoo.data.BadRowError) as err:
        split_texts(config)
    assert err.value.__notes__ == ["in a run config, these are options of data.extra_sources[0]: write the entry as "
                                   f"{{source: {tmp_path / 'extra.jsonl'}, on_bad_rows: skip}}"]


def test_a_validation_file_is_the_validation_split_and_the_source_keeps_its_test_split(tmp_path, caplog):
    train = tmp_path / "train.csv"
    train.write_text("text,label\n" + "".join(f"text {i},{'ab'[i % 2]}\n" for i in range(40)), encoding="utf-8")
    dev = tmp_path / "dev.csv"
    dev.write_text("text,label\nnew b text,b\ntext 3,b\nnew a text,a\n", encoding="utf-8")
    held_out = split_texts(_config(train))
    with caplog.at_level(logging.WARNING):
        splits = split_texts(_config(train, validation_source=str(dev), validation_split=0.1))
    assert splits["validation"].texts == ["new b text", "text 3", "new a text"], "the file, as it is, in order"
    assert splits["validation"].labels.tolist() == [1, 1, 0] and splits["validation"].label_names == ["a", "b"]
    assert splits["test"].texts == held_out["test"].texts, "the seeded test split does not move"
    assert sorted(splits["train"].texts) == sorted(held_out["train"].texts + held_out["validation"].texts), (
        "nothing of the source is held out for validation")
    assert (f"1 of the 3 texts of {dev} also occur in the training data {train} (first: {dev}, line 3); validation "
            "scores on them measure memory" in caplog.text)


def test_a_folder_s_official_validation_and_test_files_are_the_run_s(tmp_path):
    for split, rows in (("train", 30), ("validation", 3), ("test", 4)):
        (tmp_path / f"{split}.csv").write_text("text,label\n" + "".join(
            f"{split} text {i},{'ab'[i % 2]}\n" for i in range(rows)), encoding="utf-8")
    splits = split_texts(_config(tmp_path, validation_split=0.1, test_split=0.1))
    assert [len(splits[name]) for name in ("train", "validation", "test")] == [30, 3, 4]
    assert splits["validation"].texts[0] == "validation text 0" and splits["test"].texts[0] == "test text 0"
    with pytest.raises(ConfigError, match=rf"^data.validation_split: 0.2 would be ignored: {tmp_path} has an official "
                                          "validation split, which is the run's; remove data.validation_split$"):
        split_texts(_config(tmp_path))
    with pytest.raises(ConfigError, match=rf"^data.test_split: 0.2 would be ignored: {tmp_path} has an official "
                                          "test split, which is the run's; remove data.test_split$"):
        split_texts(_config(tmp_path, validation_split=0.1))



def test_the_run_summary_says_which_splits_are_given(tmp_path, capsys):
    from zoo.cli import main

    folder = tmp_path / "data"
    folder.mkdir()
    for split, rows in (("train", 40), ("validation", 6)):
        (folder / f"{split}.csv").write_text("text,label\n" + "".join(
            f"{split} text {i},{'ab'[i % 2]}\n" for i in range(rows)), encoding="utf-8")
    test = tmp_path / "held.csv"
    test.write_text("text,label\nsome text,a\nmore text,b\n", encoding="utf-8")
    assert main(["train", "--data", str(folder), "--output", str(tmp_path / "run"), "--set", "training.epochs=1",
                 "--set", f"data.test_source={test}", "--set", "training.batch_size=8"]) == 0
    captured = capsys.readouterr()
    assert f"train 40, validation 6 (official), test 2 ({test}) examples" in captured.out + captured.err


def test_a_test_file_of_another_layout_reads_with_the_training_file_s_options_it_has(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("text;label\n" + "".join(f"text {i};{'ab'[i % 2]}\n" for i in range(40)), encoding="utf-8")
    test = tmp_path / "test.jsonl"
    test.write_text('{"text": "new text", "label": "a"}\n{"text": "other text", "label": "b"}\n', encoding="utf-8")
    splits = split_texts(Config.from_dict({"data": {"source": str(train), "test_source": str(test),
                                                    "load_options": {"delimiter": ";", "encoding": "latin-1"}}}))
    assert splits["test"].texts == ["new text", "other text"] and len(splits["train"]) == 36
    # The same for a parquet test file, which has no encoding to read it with.
    pq.write_table(pa.table({"text": ["new text"], "label": ["b"]}), tmp_path / "test.parquet")
    parquet = str(tmp_path / "test.parquet")
    splits = split_texts(Config.from_dict({"data": {"source": str(train), "test_source": parquet,
                                                    "load_options": {"delimiter": ";", "encoding": "latin-1"}}}))
    assert splits["test"].texts == ["new text"]


def test_a_validation_file_s_labels_are_the_training_data_s(tmp_path):
    train = _repeated(tmp_path / "train.csv", 20, 1)
    dev = tmp_path / "dev.csv"
    dev.write_text("text,label\nfine,pos\nodd,neutral\n", encoding="utf-8")
    with pytest.raises(zoo.data.UnseenLabelError, match=f"^{dev}, line 3, column 'label': label 'neutral' is not "
                                                        r"in the label vocabulary \['neg', 'pos'\]"):
        split_texts(_config(train, validation_source=str(dev), validation_split=0.1))


def test_multilabel_mode_reads_several_labels_per_row(tmp_path):
    path = tmp_path / "tags.jsonl"
    path.write_text('{"text": "goal in the election", "label": ["sports", "politics"]}\n'
                    '{"text": "a quiet day", "label": []}\n'
                    + "".join(f'{{"text": "match {i}", "label": "sports"}}\n' for i in range(8))
                    + "".join(f'{{"text": "vote {i}", "label": "politics"}}\n' for i in range(8)), encoding="utf-8")
    config = _config(path, validation_split=0.0).override(["model.overrides.mode=multilabel"])
    assert classification_mode(config) == "multilabel"
    splits = split_texts(config)
    everything = {t: row for part in splits.values() if part for t, row in zip(part.texts, part.labels)}
    assert splits["train"].label_names == ["politics", "sports"]
    assert everything["goal in the election"].tolist() == [1, 1] and everything["a quiet day"].tolist() == [0, 0]
    args = model_arguments(config, {"task": "classification", "label_names": ["politics", "sports"],
                                    "sequence_length": 16, "tokenizer": type("T", (), {"vocab_size": 50, "pad_id": 3})()})
    assert (args["mode"], args["num_classes"], args["pad_id"]) == ("multilabel", 2, 3)


@pytest.mark.parametrize("separator", ["|", ";"])
def test_multilabel_labels_joined_by_another_separator_are_warned_of(tmp_path, caplog, separator):
    # "pos|short" read with "," was one class per combination, silently.
    path = tmp_path / "tags.jsonl"
    path.write_text("".join(json.dumps({"text": f"text {i}", "label": f"{'np'[i % 2]}{separator}{'sl'[i % 3 > 0]}"})
                            + "\n" for i in range(30)), encoding="utf-8")
    config = _config(path, validation_split=0.0).override(["model.overrides.mode=multilabel"])
    with caplog.at_level(logging.WARNING):
        split_texts(config)
    assert (f"warning: {path}: no example has more than one label (separated by ','), yet label names hold "
            f"{separator!r}, e.g. {'n' + separator + 'l'!r} ({path}, line 3), so each combination is learnt as one "
            f"class (4 classes): if {separator!r} separates the labels, pass --set \"data.load_options.label_separator="
            f"'{separator}'\"") in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        splits = split_texts(config.update({"data.load_options.label_separator": separator}))
    assert splits["train"].label_names == ["l", "n", "p", "s"] and "separat" not in caplog.text


def test_several_labels_per_row_need_a_multilabel_model(tmp_path):
    with pytest.raises(ConfigError, match="data.load_options.label_separator reads several labels per row, which "
                                          "only a multi-label classifier learns: set model.overrides.mode: multilabel"):
        split_texts(_config(tmp_path / "any.csv", load_options={"label_separator": "|"}))


def test_the_mode_comes_from_the_config_once():
    assert classification_mode(Config()) == "multiclass"
    assert classification_mode(Config().override(["model.overrides.mode=binary"])) == "binary"
    assert classification_mode(Config().override(["model.name=cnn"])) == "multiclass"


# data.sequence_length: auto

@pytest.mark.parametrize("needed, limit, expected", [
    (np.arange(1, 101), 512, 96),          # 95th percentile 95.05 -> 96
    (np.full(50, 10), 512, 16),            # 10 -> the next multiple of 8
    (np.array([3, 4, 5]), 512, 8),
    (np.arange(1, 2001), 512, 512),        # 1900.05 -> capped
])
def test_auto_length_is_the_95th_percentile_rounded_up_to_8_and_capped(needed, limit, expected):
    assert auto_sequence_length(needed, limit) == expected


@pytest.fixture(scope="module")
def word_counts_csv(tmp_path_factory):
    """200 texts of 1..200 distinct words (no punctuation: one word is one token), two labels."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("lengths") / "lengths.csv"
    counts = rng.permutation(np.arange(1, 201))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i, count in enumerate(counts):
            writer.writerow([" ".join(f"w{j}" for j in range(count)), "ab"[i % 2]])
    return path


def _length_config(path, task="classification", **data):
    model = {"classification": "transformer-tiny", "lm": "lm"}[task]
    return Config.from_dict({"data": {"source": str(path), "vocab_size": 300, "validation_split": 0.0,
                                      "test_split": 0.0, **data}, "model": {"name": model, "overrides": {}}})


def _checkpoint_config(path, folder):
    """``_length_config`` starting from a checkpoint: its tokenizer, so no tokenizer settings."""
    return Config.from_dict({"data": {"source": str(path), "validation_split": 0.0, "test_split": 0.0,
                                      "sequence_length": "auto"},
                             "model": {"init_from": str(folder)}})


def test_auto_picks_the_length_from_the_training_texts_and_counts_what_it_cuts(word_counts_csv):
    data = load_splits(_length_config(word_counts_csv))
    counts = np.arange(1, 201)                       # every text's word count, one token per word
    expected = int(np.ceil(np.ceil(np.percentile(counts, 95)) / 8) * 8)
    assert data["sequence_length"] == expected == 192
    assert data["truncated"] == int((counts > expected).sum()) == 8
    assert data["train"][0].shape == (200, expected)
    longest = (data["train"][0] != 0).sum(axis=1).max()
    assert longest == expected


def test_a_language_model_needs_one_position_more_for_its_begin_token(word_counts_csv):
    data = load_splits(_length_config(word_counts_csv, task="lm"))
    needed = np.arange(1, 201) + 1
    assert data["sequence_length"] == int(np.ceil(np.ceil(np.percentile(needed, 95)) / 8) * 8) == 192
    assert data["truncated"] == int((needed > 192).sum()) == 9


def test_a_seq2seq_target_needs_one_position_more_for_its_begin_token():
    # A target of k tokens is framed [CLS] t [SEP] (k + 2 ids) and the decoder reads all but the last: k + 1
    # positions; the source needs its k tokens.
    words = SimpleNamespace(tokenize=tf.strings.split)
    sources, targets = ["a b c d e", "a", "a b"], ["x y", "x y z w", "x"]
    texts = SimpleNamespace(texts=sources, is_pairs=False, labels=[0, 1, 2], label_names=targets)
    want = np.maximum([len(t.split()) for t in sources], [len(t.split()) + 1 for t in targets])
    np.testing.assert_array_equal(positions_needed("seq2seq", words, texts), want)


def test_a_fixed_length_is_kept_and_its_truncation_counted(word_counts_csv):
    data = load_splits(_length_config(word_counts_csv, sequence_length=50))
    assert data["sequence_length"] == 50 and data["train"][0].shape == (200, 50)
    assert data["truncated"] == 150


def test_with_init_from_auto_takes_the_pretrained_models_length(word_counts_csv, tmp_path):
    """A pretrained encoder's position table has a fixed size: auto uses it, whatever the texts need."""
    import zoo

    (tmp_path / "pretrained").mkdir()
    (tmp_path / "pretrained" / "model.json").write_text(json.dumps({"name": "mlm", "arguments": {"sequence_length": 40}}))
    config = _length_config(word_counts_csv).override([f"model.init_from={tmp_path / 'pretrained'}"])
    tokenizer = zoo.data.build_tokenizer("word", 300).fit(zoo.data.load(word_counts_csv).texts)
    data = load_splits(config, tokenizer)
    assert data["sequence_length"] == 40 and data["truncated"] == 160


def test_with_a_checkpoint_auto_is_capped_at_its_positions(tmp_path):
    from tests.converters.checkpoints import write_bert_checkpoint
    from zoo.training import transfer

    folder, config, _ = write_bert_checkpoint(tmp_path / "checkpoint")
    path = tmp_path / "long.csv"
    path.write_text("text,label\n" + "".join(f"film {i} {'good ' * 60},{'ab'[i % 2]}\n" for i in range(20)),
                    encoding="utf-8")
    run = _checkpoint_config(path, folder)
    _, tokenizer = transfer.pretrained_run(run)
    data = load_splits(run, tokenizer)
    assert data["sequence_length"] == config["max_position_embeddings"] and data["truncated"] == 20


def test_a_sentence_pair_needs_the_positions_of_both_texts_and_three_special_tokens(tmp_path):
    from tests.converters.checkpoints import write_bert_checkpoint
    from zoo.training import transfer

    folder, _, _ = write_bert_checkpoint(tmp_path / "checkpoint")
    path = tmp_path / "pairs.csv"
    path.write_text("text_a,text_b,label\n" + "".join(
        f"{' '.join(['a'] * 5)} {i},{' '.join(['b'] * 9)},{'xy'[i % 2]}\n" for i in range(20)), encoding="utf-8")
    run = _checkpoint_config(path, folder)
    _, tokenizer = transfer.pretrained_run(run)
    data = load_splits(run, tokenizer)
    # [CLS] + 6 tokens + [SEP] + 9 tokens + [SEP] = 18 positions -> 24.
    assert data["sequence_length"] == 24 and data["truncated"] == 0
    token_ids = data["train"][0]["token_ids"]
    assert token_ids.shape == (20, 24) and (token_ids != tokenizer.pad_id).sum(axis=1).max() == 18
    # A length with no room for text names the key that set it (it said "column 'sequence_length'").
    with pytest.raises(ConfigError, match=r"^data.sequence_length: sequence_length=3 leaves no room for text after "
                                          r"the 3 special tokens$"):
        load_splits(run.update({"data.sequence_length": 3}), tokenizer)


def test_long_texts_are_capped_at_the_position_limit(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("text,label\n" + "".join(f"t{i} {' '.join(['w'] * 700)},{'ab'[i % 2]}\n" for i in range(20)),
                    encoding="utf-8")
    data = load_splits(_length_config(path))
    assert data["sequence_length"] == AUTO_MAX_LENGTH and data["truncated"] == 20
    # The run summary said "95th percentile" of texts of 701 tokens.
    assert data["length_chosen"] == f"auto: 95th percentile of training token counts, capped at {AUTO_MAX_LENGTH}"


def test_the_run_summary_prints_the_length_and_the_run_dir_keeps_auto(tiny_csv, tmp_path):
    stream = io.StringIO()
    config = tiny_config(tiny_csv, tmp_path / "run", output={"progress": "epoch"},
                         training={"epochs": 1, "batch_size": 10})
    config["data"]["sequence_length"] = "auto"
    result = train(config, progress_stream=stream)
    # Whole batches only: what is left of each shuffled epoch is said, not dropped silently.
    train_examples = result.metrics["examples"]["train"]
    assert train_examples % 10 and (f"; each epoch trains {train_examples // 10} batches of 10 and leaves out "
                                    f"{train_examples % 10} examples, another draw each epoch\n") in stream.getvalue()
    length = result.metrics["sequence_length"]["length"]
    # tiny.csv texts have 4..12 words: the 95th percentile rounds up to 16.
    assert length == 16 and result.metrics["sequence_length"]["truncated_train_examples"] == 0
    assert ("sequence length 16 (auto: 95th percentile of training token counts): it truncates 0 of "
            f"{result.metrics['examples']['train']} training examples") in stream.getvalue()
    assert "sequence_length: auto" in (tmp_path / "run" / "config.yaml").read_text()
    model, _, _, loaded = load_run(tmp_path / "run")
    assert loaded.data.sequence_length == 16 and model.sequence_length == 16
