"""A run's data from its config: duplicates, classes and the multi-label format, checked before training."""
import logging

import pytest

from zoo.config import Config, ConfigError
from zoo.training.data import classification_mode, model_arguments, split_texts


def _config(source, **data):
    return Config.from_dict({"data": {"source": str(source), "validation_split": 0.2, "test_split": 0.2, **data}})


def _repeated(path, unique, copies):
    rows = [(f"text number {i}", "pos" if i % 2 else "neg") for i in range(unique)]
    path.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows * copies), encoding="utf-8")
    return path


def test_duplicates_are_removed_before_splitting_and_counted(tmp_path, caplog):
    source = _repeated(tmp_path / "repeated.csv", 10, 24)
    with caplog.at_level(logging.WARNING):
        splits = split_texts(_config(source))
    assert f"{source}: removed 230 duplicate texts" in caplog.text
    parts = [splits[name].texts for name in ("train", "validation", "test")]
    assert sum(map(len, parts)) == 10 and not set(parts[0]) & (set(parts[1]) | set(parts[2]))


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
                                    "tokenizer": type("T", (), {"vocab_size": 50, "pad_id": 3})()})
    assert (args["mode"], args["num_classes"], args["pad_id"]) == ("multilabel", 2, 3)


def test_several_labels_per_row_need_a_multilabel_model(tmp_path):
    with pytest.raises(ConfigError, match="data.load_options.label_separator reads several labels per row, which "
                                          "only a multi-label classifier learns: set model.overrides.mode: multilabel"):
        split_texts(_config(tmp_path / "any.csv", load_options={"label_separator": "|"}))


def test_the_mode_comes_from_the_config_once():
    assert classification_mode(Config()) == "multiclass"
    assert classification_mode(Config().override(["model.overrides.mode=binary"])) == "binary"
    assert classification_mode(Config().override(["model.name=cnn"])) == "multiclass"
