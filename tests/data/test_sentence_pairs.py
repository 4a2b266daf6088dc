"""Sentence pairs (``text_a``, ``text_b``) through the loaders, splits, folds and de-duplication."""
import json

import pytest

from zoo.data import errors
from zoo.data.sources import load
from zoo.data.splits import deduplicate, kfold, shared_texts, train_val_test_split

PAIRS = [("a man is eating", "someone eats", "entailment"), ("a dog runs", "a cat sleeps", "contradiction"),
         ("it rains", "the street is wet", "neutral"), ("kids play", "children are playing", "entailment"),
         ("she sings", "nobody sings", "contradiction"), ("he reads", "he owns books", "neutral")] * 2


def _csv(rows, header="text_a,text_b,label"):
    return header + "\n" + "".join(f'"{a}","{b}",{y}\n' for a, b, y in rows)


@pytest.mark.parametrize("name, content", [
    ("pairs.csv", _csv(PAIRS)),
    ("pairs.tsv", "label\ttext_a\ttext_b\n" + "".join(f"{y}\t{a}\t{b}\n" for a, b, y in PAIRS)),
    ("pairs.jsonl", "".join(json.dumps({"text_a": a, "text_b": b, "label": y}) + "\n" for a, b, y in PAIRS)),
], ids=["csv", "tsv", "jsonl"])
def test_text_a_and_text_b_columns_load_as_aligned_pairs(write, name, content):
    data = load(write(name, content))
    assert data.is_pairs
    assert list(zip(data.texts, data.text_pairs)) == [(a, b) for a, b, _ in PAIRS]
    assert [data.label_names[i] for i in data.labels] == [y for _, _, y in PAIRS]
    assert "12 sentence pairs" in data.summary()


def test_explicit_pair_columns_and_single_texts_stay_single(write):
    path = write("q.csv", "question,passage,text,label\nq1,p1,t1,yes\nq2,p2,t2,no\n")
    pairs = load(path, text_column=["question", "passage"])
    assert pairs.texts == ["q1", "q2"] and pairs.text_pairs == ["p1", "p2"]
    single = load(path)  # a text column is there: single texts, as before
    assert single.texts == ["t1", "t2"] and not single.is_pairs and single.text_pairs is None


def test_splits_folds_and_subsets_keep_pairs_aligned(write):
    data = load(write("pairs.csv", _csv(PAIRS)))
    expected = dict(zip(data.texts, data.text_pairs))
    parts = train_val_test_split(data, val_size=3, test_size=3, seed=1)
    for part in [*parts, *(p for fold in kfold(data, k=2, seed=0) for p in fold)]:
        assert part.is_pairs and len(part.text_pairs) == len(part)
        assert all(expected[a] == b for a, b in zip(part.texts, part.text_pairs))


def test_deduplicate_drops_a_pair_only_when_both_texts_repeat(write):
    rows = [("same", "one", "x"), ("same", "two", "y"), ("same", "one", "x"), ("other", "one", "y")]
    data = deduplicate(load(write("pairs.csv", _csv(rows))))
    assert list(zip(data.texts, data.text_pairs)) == [("same", "one"), ("same", "two"), ("other", "one")]


def test_a_test_pair_occurs_in_training_only_when_both_texts_do(write):
    train = load(write("train.csv", _csv([("what is x ?", "passage one", "x"), ("what is y ?", "passage two", "y")])))
    test = load(write("test.csv", _csv([("what is x ?", "passage three", "x"), ("what is y ?", "passage two", "y")])))
    assert shared_texts(train, test) == [1]


@pytest.mark.parametrize("content, kwargs, error, message", [
    ('text_a,text_b,label\n"a","",x\n', {}, errors.BadRowError, "line 2, column 'text_b': empty second text"),
    ('text_a,label\n"a",x\n', {"text_column": ["text_a", "text_b"]}, errors.MissingColumnError,
     "second text column 'text_b' does not exist"),
    ("text_a,text_b,label\na,b,x\n", {"text_column": ["text_a"]}, errors.DataSpecError,
     "text_column as a list names the two columns of a sentence pair"),
])
def test_bad_pair_rows_and_columns_name_the_place(write, content, kwargs, error, message):
    with pytest.raises(error) as raised:
        load(write("bad.csv", content), **kwargs)
    assert message in str(raised.value)


def test_jsonl_pair_with_a_missing_second_text_is_a_bad_row(write):
    path = write("p.jsonl", json.dumps({"text_a": "a", "text_b": "b", "label": "x"}) + "\n"
                 + json.dumps({"text_a": "c", "label": "y"}) + "\n")
    with pytest.raises(errors.BadRowError, match=r"line 2, column 'text_b': second text field is missing"):
        load(path)
    skipped = load(path, on_bad_rows="skip")
    assert skipped.texts == ["a"] and skipped.text_pairs == ["b"]


def test_save_jsonl_reads_back_the_same_pairs_and_single_texts(write, tmp_path):
    data = load(write("pairs.csv", _csv(PAIRS)))
    again = load(data.save_jsonl(tmp_path / "out" / "pairs.jsonl"))
    assert (again.texts, again.text_pairs, again.label_names) == (data.texts, data.text_pairs, data.label_names)
    assert again.labels.tolist() == data.labels.tolist()
    single = load(write("single.csv", 'text,label\n"a, b",x\n"ü",y\n'))
    back = load(single.save_jsonl(tmp_path / "single.jsonl"))
    assert back.texts == ["a, b", "ü"] and not back.is_pairs
