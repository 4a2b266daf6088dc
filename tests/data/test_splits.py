"""Seeded stratified splits, k-fold, de-duplication."""
import numpy as np
import pytest

from zoo.data.errors import DataError, DataSpecError
from zoo.data.labeled import UNLABELLED, LabeledTexts, check_labels_seen
from zoo.data.splits import deduplicate, kfold, shared_texts, text_key, train_val_test_split


@pytest.fixture
def data():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    return LabeledTexts([f"text {i}" for i in range(100)], labels, ["a", "b", "c"], source="toy")


def test_split_sizes_stratification_and_disjointness(data):
    train, val, test = train_val_test_split(data, val_size=0.1, test_size=0.2, seed=0)
    assert (len(train), len(val), len(test)) == (70, 10, 20)
    assert test.class_counts() == {"a": 12, "b": 6, "c": 2}
    assert val.class_counts() == {"a": 6, "b": 3, "c": 1}
    all_texts = train.texts + val.texts + test.texts
    assert sorted(all_texts) == sorted(data.texts)
    for part in (train, val, test):
        assert part.label_names == data.label_names
        for text, label in zip(part.texts, part.labels):
            assert data.labels[int(text.split()[1])] == label
    assert train.location(0) == f"toy, example {train.texts[0].split()[1]}"


def test_split_is_reproducible_from_the_seed(data):
    first = train_val_test_split(data, seed=1)
    assert [p.texts for p in first] == [p.texts for p in train_val_test_split(data, seed=1)]
    assert first[2].texts != train_val_test_split(data, seed=2)[2].texts


def test_counts_and_empty_parts(data):
    train, val, test = train_val_test_split(data, val_size=15, test_size=0, seed=0)
    assert (len(train), len(val), len(test)) == (85, 15, 0)


def test_kfold_tests_every_example_once_with_stratified_folds(data):
    folds = kfold(data, k=5, seed=0)
    assert len(folds) == 5
    tested = [t for _, test in folds for t in test.texts]
    assert sorted(tested) == sorted(data.texts)
    for train, test in folds:
        assert not set(train.texts) & set(test.texts) and len(train) + len(test) == 100
        assert test.class_counts() == {"a": 12, "b": 6, "c": 2}
    assert [t.texts for _, t in folds] == [t.texts for _, t in kfold(data, k=5, seed=0)]


@pytest.mark.parametrize("call,error,match", [
    (lambda d: train_val_test_split(d, val_size=0.5, test_size=0.5), DataSpecError, "leaving no training"),
    (lambda d: train_val_test_split(d, val_size=1.5), DataSpecError, "val_size"),
    (lambda d: train_val_test_split(d, test_size=2), DataError, "cannot hold all 3 classes"),
    # A positive fraction that rounds to no example (0.4 of one) is refused, not turned into an empty split.
    (lambda d: train_val_test_split(d, val_size=0.004), DataSpecError,
     r"^toy: a validation split of 0.004 of 100 examples rounds to no example; hold out at least 0.01 \(one example\)"),
    (lambda d: train_val_test_split(d, test_size=0.004, stratify=False), DataSpecError, "test split of 0.004 of 100"),
    (lambda d: kfold(d, k=11), DataError, "class 'c' has 10 examples, fewer than the 11 folds"),
    (lambda d: kfold(d, k=1), DataSpecError, "at least 2"),
    (lambda d: train_val_test_split(d.subset(range(91)), test_size=0.2), DataError, "class 'c' has only 1 example"),
])
def test_bad_split_requests(data, call, error, match):
    with pytest.raises(error, match=match):
        call(data)


def test_deduplicate_keeps_first_copy_and_reports_conflicts(caplog):
    data = LabeledTexts(["x", "y", "x", "z", "y"], np.array([0, 1, 0, 0, 0]), ["a", "b"], source="dups")
    unique = deduplicate(data)
    assert unique.texts == ["x", "y", "z"] and unique.labels.tolist() == [0, 1, 0]
    assert "removed 2 duplicate texts (1 with a different label" in caplog.text
    assert "dups, example 4" in caplog.text


def test_seq2seq_deduplication_keeps_a_sources_references_and_drops_repeated_pairs(caplog):
    # A source's other targets were dropped as "duplicate texts with a different label": 150 pairs over 50
    # sources left 50. Several references per source are data; only a repeated (source, target) pair is a copy.
    targets = [f"target {i} {j}" for i in range(50) for j in range(3)]
    data = LabeledTexts([f"source {i}" for i in range(50) for _ in range(3)] + ["source 0"],
                        np.array(list(range(150)) + [0]), targets, source="refs")
    unique = deduplicate(data, task="seq2seq")
    assert len(unique) == 150 and unique.labels.tolist() == list(range(150))
    assert "refs: removed 1 duplicate (source, target) pairs (a source's other targets are kept)" in caplog.text
    assert "label" not in caplog.text


def test_copies_differing_in_whitespace_or_case_are_duplicates_as_the_model_reads_them(caplog):
    # Raw texts were compared: "A film " and "  a  film" stayed apart and leaked into the test split.
    texts = ["a fine film", "A fine film ", "  a  fine\tfilm", "a dull film", "A dull film"]
    data = LabeledTexts(texts, np.array([1, 1, 1, 0, 0]), ["neg", "pos"], source="near")
    assert deduplicate(data).texts == ["a fine film", "a dull film"]
    assert "near: removed 3 duplicate texts (0 with a different label" in caplog.text
    # A cased tokenizer tells "A" from "a": only the whitespace copy goes.
    assert deduplicate(data, lowercase=False).texts == ["a fine film", "A fine film ", "a dull film", "A dull film"]
    other = LabeledTexts(["A DULL  film", "new"], np.array([0, 1]), ["neg", "pos"])
    assert shared_texts(data, other) == [0] and shared_texts(data, other, lowercase=False) == []
    # U+0085 is text to cleaning (MR's "..."), not a space.
    assert text_key("so\x85 good") != text_key("so good")


@pytest.mark.parametrize("task", ["lm", "mlm", "classification"])
def test_deduplicating_unlabelled_texts_says_nothing_of_labels(caplog, task):
    data = LabeledTexts(["x", "y", "x"], np.zeros(3, np.int32), [UNLABELLED], source="corpus")
    assert deduplicate(data, task=task).texts == ["x", "y"]
    assert caplog.messages == ["corpus: removed 1 duplicate texts"]


def test_a_split_grouped_by_input_keeps_each_inputs_examples_in_one_part():
    data = LabeledTexts([f"source {i}" for i in range(50) for _ in range(3)], np.arange(150),
                        [f"target {i}" for i in range(150)], source="refs")
    train, val, test = train_val_test_split(data, val_size=0.1, test_size=0.1, seed=0, stratify=False,
                                            group_by_input=True)
    assert (len(train), len(val), len(test)) == (120, 15, 15)
    parts = [set(part.texts) for part in (train, val, test)]
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    assert sorted(train.labels.tolist() + val.labels.tolist() + test.labels.tolist()) == list(range(150))
    # Distinct inputs split as without grouping (a run's split does not move); grouping is never stratified.
    distinct = LabeledTexts([f"s {i}" for i in range(40)], np.arange(40), [f"t {i}" for i in range(40)])
    for a, b in zip(train_val_test_split(distinct, seed=3, stratify=False, group_by_input=True),
                    train_val_test_split(distinct, seed=3, stratify=False)):
        assert a.texts == b.texts
    with pytest.raises(DataSpecError, match="a split grouped by input is not stratified"):
        train_val_test_split(data, group_by_input=True)
    with pytest.raises(DataSpecError, match="of 50 distinct inputs rounds to no distinct input"):
        train_val_test_split(data, test_size=0.001, stratify=False, group_by_input=True)


def test_multilabel_data_is_split_without_stratification_and_deduplicated():
    hot = np.array([[1, 0], [1, 1], [0, 1], [1, 1], [0, 0]] * 4)
    data = LabeledTexts([f"t{i % 18}" for i in range(20)], hot, ["a", "b"], source="tags")
    with pytest.raises(DataSpecError, match=r"tags: multi-label data cannot be stratified by class .*stratify=False"):
        train_val_test_split(data)
    train, val, test = train_val_test_split(data, val_size=0.2, test_size=0.2, stratify=False)
    assert (len(train), len(val), len(test)) == (12, 4, 4) and train.labels.shape == (12, 2)
    unique = deduplicate(data)
    assert len(unique) == 18 and unique.labels.tolist()[:2] == [[1, 0], [1, 1]]


def test_multilabel_labels_unseen_in_training_are_reported():
    train = LabeledTexts(["a", "b"], np.array([[1, 0, 0], [1, 1, 0]]), ["x", "y", "z"], source="train")
    other = LabeledTexts(["c", "d"], np.array([[1, 0, 0], [0, 1, 1]]), ["x", "y", "z"], source="test")
    with pytest.raises(DataError, match=r"test, example 1: test label 'z' has no example in training \(train\)"):
        check_labels_seen(train, other, "test")
    with pytest.raises(DataError, match="multi-hot labels must be 0 or 1"):
        LabeledTexts(["a"], np.array([[2, 0]]), ["x", "y"])


@pytest.mark.parametrize("call,message", [
    (lambda d: kfold(d, k=12), "toy: class 'c' has 10 examples, fewer than the 12 folds: some folds would test none "
                               "of it; use at most 10 folds or add examples of it"),
    (lambda d: kfold(d.subset(range(91)), k=5), "class 'c' has 1 example, fewer than the 5 folds: some folds would "
                                                "test none of it; add examples of it"),
    (lambda d: train_val_test_split(d.subset(range(91)), test_size=0.2),
     "class 'c' has only 1 example, so a stratified test split cannot put it on both sides; add examples of it"),
    (lambda d: train_val_test_split(d.subset(range(92)), val_size=0.2, test_size=0.4),
     "class 'c' has 2 examples, but only 1 is left for the validation split, so a stratified validation split "
     "cannot put it on both sides; add examples of it"),
    (lambda d: train_val_test_split(d, test_size=2), "use a larger test split"),
    (lambda d: train_val_test_split(d, val_size=0, test_size=98), "use a smaller test split"),
])
def test_stratification_errors_name_remedies_every_caller_has(data, call, message):
    """zoo cv and zoo train stratify by themselves and call k --folds: a remedy naming kfold's k or stratify=False
    would send their users to an option they cannot pass."""
    with pytest.raises(DataError) as error:
        call(data)
    assert message in str(error.value) and "stratify" not in str(error.value) and "k=" not in str(error.value)
