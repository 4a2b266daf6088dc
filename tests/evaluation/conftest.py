"""Fixtures shared with the export tests (each built once per test process), and a fold-partition check."""
import json

from tests.export.conftest import exported, tiny_run, trained_run  # noqa: F401


def _examples(path):
    """A JSONL file's examples as tuples of their texts (``(text,)`` or ``(text_a, text_b)``), labels left out."""
    with open(path, encoding="utf-8") as handle:
        return [tuple(v for k, v in json.loads(line).items() if k != "label") for line in handle if line.strip()]


def assert_folds_partition(cv_dir, folds, source):
    """Each ``fold_k/data`` splits ``source`` in two: the test parts together are every example once, and a
    fold trains on exactly the examples outside its test part."""
    everything = _examples(source)
    assert len(set(everything)) == len(everything), "the source has repeats: the check below would be ambiguous"
    tested = []
    for k in range(folds):
        test = _examples(cv_dir / f"fold_{k}" / "data" / "test.jsonl")
        train = _examples(cv_dir / f"fold_{k}" / "data" / "train.jsonl")
        assert not set(train) & set(test), f"fold {k} trains on {len(set(train) & set(test))} of its test examples"
        assert sorted(train + test) == sorted(everything), f"fold {k} does not train on the rest of the data"
        tested += test
    assert sorted(tested) == sorted(everything), "the folds' test parts are not every example exactly once"
