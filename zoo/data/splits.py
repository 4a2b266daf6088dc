"""Seeded, stratified train/validation/test splits, k-fold cross-validation folds, and de-duplication."""
import logging
import re

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from zoo.data.errors import DataError, DataSpecError
from zoo.data.labeled import UNLABELLED, LabeledTexts
from zoo.data.spaces import OTHER_SPACE

log = logging.getLogger(__name__)

# The whitespace that zoo.data.cleaning collapses to one space.
_SPACE_RUN = re.compile(f"(?:{OTHER_SPACE}| )+")


def text_key(text, *, lowercase=True):
    """The form in which two texts count as copies of each other (``deduplicate``, ``shared_texts``): whitespace
    runs collapsed to one space and the ends trimmed, as cleaning does, and lower-cased when the run's tokenizer
    lower-cases, so that "A film " and "a  film" are one text to a model that reads them the same.

    Args:
        text: A text, or a ``(text_a, text_b)`` sentence pair.
        lowercase: Whether the tokenizer lower-cases (zoo's tokenizers by default; not a cased BERT checkpoint's).

    Example:
        >>> text_key("  A  great film "), text_key("A great film", lowercase=False)
        ('a great film', 'A great film')
    """
    if isinstance(text, tuple):
        return tuple(text_key(part, lowercase=lowercase) for part in text)
    text = _SPACE_RUN.sub(" ", text).strip(" ")
    return text.lower() if lowercase else text


def _check_data(data, stratify=False):
    if not isinstance(data, LabeledTexts):
        raise DataSpecError(f"expected LabeledTexts (from zoo.data.load), not {type(data).__name__}")
    if stratify and data.multilabel:
        raise DataSpecError("multi-label data cannot be stratified by class (an example has several); pass "
                            "stratify=False", path=data.source)


def _size(name, value, data, what, total=None, unit="example"):
    """A fraction in [0, 1) of ``data``'s examples (``total`` ``unit``s) or an absolute count; a positive
    fraction must hold one."""
    total = len(data) if total is None else total
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DataSpecError(f"{name} must be a fraction in [0, 1) or a count, not {value!r}")
    if isinstance(value, (float, np.floating)):
        if not 0.0 <= value < 1.0:
            raise DataSpecError(f"{name} as a fraction must be in [0, 1), not {value}")
        count = int(round(value * total))
        # Rounded down to none, a 0.1 test split of 4 examples left the run without a test score, silently.
        # The remedy names no argument: zoo train calls test_size data.test_split.
        if value > 0 and count == 0:
            raise DataSpecError(f"a {what} split of {value:g} of {total} {unit}s rounds to no {unit}; hold out at "
                                f"least {1 / total:.3g} (one {unit}), or 0 for no {what} split", path=data.source)
        return count
    if not 0 <= value < total:
        raise DataSpecError(f"{name}={value} must be a count in [0, {total})")
    return int(value)


def _check_stratifiable(data, indices, count, what):
    labels = data.labels[indices]
    present = np.flatnonzero(np.bincount(labels, minlength=data.num_classes))
    counts = np.bincount(labels, minlength=data.num_classes)
    lonely = [c for c in present if counts[c] < 2]
    # The remedies name no argument: zoo train stratifies by itself and calls test_size data.test_split.
    if lonely:
        # The validation split divides what the test split left: the class may have had more examples.
        total = int(np.count_nonzero(data.labels == lonely[0]))
        held = "only 1 example" if total == 1 else f"{total} examples, but only 1 is left for the {what} split"
        raise DataError(f"class {data.label_names[lonely[0]]!r} has {held}, so a stratified {what} split cannot put "
                        "it on both sides; add examples of it", path=data.source)
    if 0 < count < len(present) or 0 < len(indices) - count < len(present):
        raise DataError(f"a stratified {what} split of {len(indices)} examples into {count} and "
                        f"{len(indices) - count} cannot hold all {len(present)} classes on both sides; "
                        f"use a {'larger' if count < len(present) else 'smaller'} {what} split", path=data.source)


def _split(data, indices, count, seed, stratify, what):
    if count == 0:
        return indices, indices[:0]
    if stratify:
        _check_stratifiable(data, indices, count, what)
    rest, taken = train_test_split(indices, test_size=count, random_state=seed,
                                   stratify=data.labels[indices] if stratify else None)
    return np.sort(rest), np.sort(taken)


def train_val_test_split(data, *, val_size=0.1, test_size=0.1, seed=0, stratify=True, group_by_input=False):
    """Split into train / validation / test, stratified by label and reproducible from ``seed``.

    Args:
        data: ``LabeledTexts``.
        val_size: Fraction (float in [0, 1)) or count of examples for validation; 0 gives an empty set.
        test_size: The same for test (0 when the source has an official test split, e.g. TREC).
        seed: Random seed.
        stratify: Keep class proportions in every part.
        group_by_input: Keep the examples of one input (a seq2seq source's several targets) in one part, so
            that no input is both trained and tested on; sizes then count distinct inputs. Not stratified.
            Data whose inputs are all distinct split as without it.

    Returns:
        ``(train, val, test)`` ``LabeledTexts`` sharing ``data``'s label vocabulary, each in source order.

    Example:
        >>> train, val, test = train_val_test_split(zoo.data.load("mr"), val_size=0.1, test_size=0.1, seed=0)
        >>> len(train), len(val), len(test)
        (8530, 1066, 1066)
        >>> test.summary()
        'mr [test]: 1,066 examples (neg 533, pos 533)'
    """
    _check_data(data, stratify)
    if group_by_input and stratify:
        raise DataSpecError("a split grouped by input is not stratified (one input's examples may have several "
                            "labels); pass stratify=False", path=data.source)
    if group_by_input:
        ids = {}
        group = np.array([ids.setdefault(text, len(ids)) for text in data.inputs], np.int64)
        total, unit = len(ids), "distinct input"
    else:
        group, total, unit = None, len(data), "example"
    n_test = _size("test_size", test_size, data, "test", total, unit)
    n_val = _size("val_size", val_size, data, "validation", total, unit)
    if n_test + n_val >= total:
        raise DataSpecError(f"val_size and test_size take {n_val + n_test} of {total} {unit}s, leaving no training")
    indices = np.arange(total)
    rest, test = _split(data, indices, n_test, seed, stratify, "test")
    train, val = _split(data, rest, n_val, seed, stratify, "validation")
    if group is not None:  # the groups drawn, back to their examples
        train, val, test = (np.flatnonzero(np.isin(group, part)) for part in (train, val, test))
    parts = [data.subset(train, f"{data.source} [train]"), data.subset(val, f"{data.source} [val]"),
             data.subset(test, f"{data.source} [test]")]
    log.info("split %s (seed %s): %s", data.source, seed, ", ".join(f"{p.source} {len(p)}" for p in parts))
    return tuple(parts)


def kfold(data, k=10, *, seed=0, stratify=True):
    """Cross-validation folds: ``k`` ``(train, test)`` pairs; every example is tested exactly once.

    Args:
        data: ``LabeledTexts``.
        k: Number of folds (MR and SUBJ are evaluated with 10).
        seed: Random seed for the fold assignment.
        stratify: Keep class proportions in every fold.

    Returns:
        A list of ``k`` ``(train, test)`` ``LabeledTexts`` pairs.

    Example:
        >>> folds = kfold(zoo.data.load("mr"), k=10, seed=0)
        >>> [len(test) for train, test in folds]
        [1067, 1067, 1066, 1066, 1066, 1066, 1066, 1066, 1066, 1066]
    """
    _check_data(data, stratify)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise DataSpecError(f"k must be an integer of at least 2, not {k!r}")
    if k > len(data):
        raise DataError(f"{k} folds need at least {k} examples; the data has {len(data)}", path=data.source)
    if stratify:
        counts = np.bincount(data.labels, minlength=data.num_classes)
        present = np.flatnonzero(counts)
        rarest = present[np.argmin(counts[present])]
        if counts[rarest] < k:
            # The remedies name no argument: kfold's k is zoo cv's --folds, and zoo cv stratifies by itself.
            n = int(counts[rarest])
            fewer = f"use at most {n} folds or " if n >= 2 else ""
            raise DataError(f"class {data.label_names[rarest]!r} has {n} example{'s' * (n > 1)}, fewer than the {k} "
                            f"folds: some folds would test none of it; {fewer}add examples of it", path=data.source)
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=k, shuffle=True, random_state=seed)
    folds = []
    for i, (train, test) in enumerate(splitter.split(np.zeros(len(data)), data.labels)):
        folds.append((data.subset(train, f"{data.source} [fold {i + 1}/{k} train]"),
                      data.subset(test, f"{data.source} [fold {i + 1}/{k} test]")))
    return folds


def deduplicate(data, *, task="classification", lowercase=True):
    """Drop repeated examples, keeping the first occurrence, so copies cannot straddle a train/test split.

    Texts are compared as ``text_key`` gives them: ones that differ only in whitespace (or, with ``lowercase``, in
    case) are copies, since the model reads them alike. A classifier's texts that repeat with a different label
    are reported (the first label is kept). A sentence pair repeats when both of its texts do. Texts without
    labels (``lm``/``mlm`` corpora) repeat as texts. A ``seq2seq`` example repeats only when both its source and its
    target do: several targets of one source are references, all kept
    (``train_val_test_split(group_by_input=True)`` keeps them in one split).

    Args:
        data: ``LabeledTexts``.
        task: The task the data are for: ``"classification"``, ``"lm"``, ``"mlm"`` or ``"seq2seq"`` (its
            labels are the targets, as ``zoo.training.data`` reads them).
        lowercase: Whether texts differing only in case are copies: the run's tokenizer lower-cases them.

    Example:
        >>> deduplicate(zoo.data.load("sms_spam")).summary()   # 5,574 examples before
        'sms_spam [deduplicated]: 5,159 examples (ham 4,517, spam 642)'
        >>> pairs = LabeledTexts(["hi", "hi", "hi"], [0, 1, 0], ["hello", "hey"], source="refs")
        >>> deduplicate(pairs, task="seq2seq").labels.tolist()
        [0, 1]
    """
    _check_data(data)
    if task not in ("classification", "lm", "mlm", "seq2seq"):
        raise DataSpecError(f"task must be 'classification', 'lm', 'mlm' or 'seq2seq', not {task!r}")
    seq2seq = task == "seq2seq"
    labelled = task == "classification" and list(data.label_names) != [UNLABELLED]
    first = {}
    keep, conflicts = [], []
    for i, text in enumerate(data.inputs):
        text = text_key(text, lowercase=lowercase)
        key = (text, int(data.labels[i])) if seq2seq else text
        if key in first:
            if labelled and not np.array_equal(data.labels[first[key]], data.labels[i]):
                conflicts.append(data.location(i))
            continue
        first[key] = i
        keep.append(i)
    removed = len(data) - len(keep)
    if removed and seq2seq:
        log.warning("%s: removed %d duplicate (source, target) pairs (a source's other targets are kept)",
                    data.source, removed)
    elif removed and labelled:
        log.warning("%s: removed %d duplicate texts (%d with a different label from the first copy%s)",
                    data.source, removed, len(conflicts), f", e.g. {conflicts[0]}" if conflicts else "")
    elif removed:
        log.warning("%s: removed %d duplicate texts", data.source, removed)
    return data.subset(keep, f"{data.source} [deduplicated]") if removed else data


def shared_texts(data, other, *, lowercase=True):
    """Return the indices of ``other``'s examples whose text also occurs in ``data`` (e.g. test texts in training).

    A sentence pair occurs when both of its texts do, together; texts are compared as ``deduplicate`` compares
    them (``text_key``).

    Args:
        data: ``LabeledTexts``, e.g. the training set.
        other: ``LabeledTexts``, e.g. a separate test file.
        lowercase: Whether texts differing only in case are the same: the run's tokenizer lower-cases them.

    Example:
        >>> train = LabeledTexts(["a great film", "a dull film"], [1, 0], ["neg", "pos"])
        >>> shared_texts(train, LabeledTexts(["a fine cast", "a dull film"], [1, 0], ["neg", "pos"]))
        [1]
    """
    _check_data(data)
    _check_data(other)
    seen = {text_key(text, lowercase=lowercase) for text in data.inputs}
    return [i for i, text in enumerate(other.inputs) if text_key(text, lowercase=lowercase) in seen]
