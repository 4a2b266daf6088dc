"""``LabeledTexts``: texts, integer labels, the label vocabulary and where every example came from."""
import dataclasses
import json
from pathlib import Path

import numpy as np

from zoo.data.errors import DataError, DataFileNotFoundError, UnseenLabelError

LABELS_FILE = "labels.txt"
# The columns of sentence-pair files: a csv/tsv/jsonl file with both (and no ``text`` column) holds pairs.
PAIR_COLUMNS = ("text_a", "text_b")


def pair_segment_problem(num_segments):
    """Return why a model with ``num_segments`` segment-table rows cannot read sentence pairs, or ``None``.

    A pair's texts take segment ids 0 and 1 (one per ``PAIR_COLUMNS`` entry): a smaller table has no row for
    the second text (TensorFlow's gather fails on CPU and reads zeros on GPU).

    Args:
        num_segments: The model's segment (token-type) rows; ``None`` for a model without segment input.

    Example:
        >>> pair_segment_problem(2) is None
        True
        >>> pair_segment_problem(1)
        'a sentence pair takes segment ids 0 to 1, but the model has 1 segment row(s)'
    """
    if (num_segments or 0) >= len(PAIR_COLUMNS):
        return None
    return (f"a sentence pair takes segment ids 0 to {len(PAIR_COLUMNS) - 1}, but the model has "
            f"{num_segments or 0} segment row(s)")


# The one label of texts read without labels (``zoo.data.load(..., label_column=False)``: lm/mlm corpora).
UNLABELLED = "text"
# Joins (and, in data files, separates) the several labels of a multi-label example.
LABEL_SEPARATOR = ","
# Characters that data files join several labels with instead (``likely_label_separator``); not a tab, which
# ``zoo.data.load`` refuses as a separator (it is blank), so no setting could follow the advice.
LIKELY_SEPARATORS = ("|", ";", "/")


def likely_label_separator(data):
    """Return ``(separator, class id)`` when multi-label ``data`` looks read with the wrong label separator,
    else ``None``: no example has more than one label, yet a label name holds one of ``LIKELY_SEPARATORS`` (rows
    of ``pos|short`` read with ``,`` give one class per combination).

    Args:
        data: ``LabeledTexts``.

    Example:
        >>> data = LabeledTexts(["a", "b"], np.array([[1, 0], [0, 1]]), ["neg|long", "pos|short"])
        >>> likely_label_separator(data)
        ('|', 0)
    """
    if not data.multilabel or (data.labels.sum(axis=1) > 1).any():
        return None
    present = data.labels.sum(axis=0) > 0
    for separator in LIKELY_SEPARATORS:
        for c, name in enumerate(data.label_names):
            if separator in name and present[c]:
                return separator, c
    return None


def joined_label_problem(names):
    """Return why a multi-label model cannot serve these label names, or ``None`` when it can.

    A served label string joins a text's predicted names with ``LABEL_SEPARATOR``: a name holding it would read
    back as several labels.

    Args:
        names: The label names.

    Example:
        >>> joined_label_problem(["comedy", "sci-fi"]) is None
        True
        >>> joined_label_problem(["comedy", "drama, romance"])[:35]
        "label 'drama, romance' contains ','"
    """
    for name in names:
        if LABEL_SEPARATOR in name:
            return (f"label {name!r} contains {LABEL_SEPARATOR!r}, which joins a multi-label model's predicted labels "
                    f"into one served label string, where it would read as {len(name.split(LABEL_SEPARATOR))} "
                    "labels; rename the label")
    return None


@dataclasses.dataclass
class LabeledTexts:
    """A labelled text data set: ``texts[i]`` has label id ``labels[i]``, named ``label_names[labels[i]]``.

    Multi-label data (several labels per example) has a multi-hot ``labels`` matrix ``[n, num_classes]``
    instead: ``labels[i, c]`` is 1 when example ``i`` has label ``label_names[c]``.

    ``files`` and ``origins`` (``[n, 2]``: file index, line or record number) say where each example came
    from, so later errors (an unseen label, a split problem) can name the file and line. ``skipped`` lists
    the bad rows skipped under ``on_bad_rows="skip"``.

    Sentence-pair data (``text_a``, ``text_b`` columns) keep the first texts in ``texts`` and the second ones,
    aligned, in ``text_pairs``; ``text_pairs`` is ``None`` for single texts.

    Example:
        >>> data = LabeledTexts(["good", "bad"], np.array([1, 0]), ["neg", "pos"], source="inline")
        >>> data.class_counts()
        {'neg': 1, 'pos': 1}
    """

    texts: list
    labels: np.ndarray
    label_names: list
    source: str = "inline"
    files: tuple = ()
    origins: np.ndarray = None
    line_unit: str = "line"
    skipped: list = dataclasses.field(default_factory=list)
    text_pairs: list = None

    def __post_init__(self):
        self.texts = list(self.texts)
        if self.text_pairs is not None:
            self.text_pairs = list(self.text_pairs)
            if len(self.text_pairs) != len(self.texts):
                raise DataError(f"{self.source}: {len(self.texts)} first texts but {len(self.text_pairs)} second "
                                "texts of sentence pairs")
        self.labels = np.asarray(self.labels, dtype=np.int32)
        if self.labels.ndim != 2:
            self.labels = self.labels.reshape(-1)
        self.label_names = [str(name) for name in self.label_names]
        self.files = tuple(str(f) for f in self.files)
        if self.origins is None:
            # In-memory data: an example's origin is its index in the data set first built.
            self.files = (self.source,)
            self.origins = np.stack([np.zeros(len(self.texts)), np.arange(len(self.texts))], axis=1)
            self.line_unit = "example"
        self.origins = np.asarray(self.origins, dtype=np.int64).reshape(-1, 2)
        if not (len(self.texts) == len(self.labels) == len(self.origins)):
            raise DataError(f"{self.source}: {len(self.texts)} texts but {len(self.labels)} labels")
        if len(set(self.label_names)) != len(self.label_names):
            raise DataError(f"{self.source}: duplicate label names in {self.label_names}")
        if self.multilabel:
            if self.labels.shape[1] != len(self.label_names):
                raise DataError(f"{self.source}: multi-hot labels have {self.labels.shape[1]} columns for "
                                f"{len(self.label_names)} label names")
            bad = np.flatnonzero(((self.labels != 0) & (self.labels != 1)).any(axis=1))
            if bad.size:
                raise DataError("multi-hot labels must be 0 or 1", **self.where(int(bad[0])))
            return
        bad = np.flatnonzero((self.labels < 0) | (self.labels >= len(self.label_names)))
        if bad.size:
            raise UnseenLabelError(
                f"label id {self.labels[bad[0]]} is outside the {len(self.label_names)} label names",
                **self.where(int(bad[0])),
            )

    def __len__(self):
        return len(self.texts)

    @property
    def is_pairs(self):
        """True for sentence-pair data (each example is ``texts[i]``, ``text_pairs[i]``)."""
        return self.text_pairs is not None

    @property
    def inputs(self):
        """What a model reads, example by example: the texts, or ``(text_a, text_b)`` tuples for pairs."""
        return list(zip(self.texts, self.text_pairs)) if self.is_pairs else list(self.texts)

    @property
    def multilabel(self):
        """Whether every example has a set of labels (a multi-hot ``labels`` matrix)."""
        return self.labels.ndim == 2

    @property
    def num_classes(self):
        """Number of classes in the label vocabulary (some may have no examples here)."""
        return len(self.label_names)

    def origin_line(self, i):
        """Line (or record) number example ``i`` came from."""
        return int(self.origins[i, 1])

    def origin_file(self, i):
        """File (or source) example ``i`` came from."""
        file_index = int(self.origins[i, 0])
        return self.files[file_index] if 0 <= file_index < len(self.files) else self.source

    def where(self, i):
        """Keyword arguments (``path``, ``line``, ``unit``) placing example ``i`` in an error message."""
        line = self.origin_line(i)
        return {"path": self.origin_file(i), "line": line if line >= 0 else None, "unit": self.line_unit}

    def location(self, i):
        """Where example ``i`` came from, e.g. ``'data/train.csv, line 17'``.

        Args:
            i: Example index.

        Example:
            >>> zoo.data.load("reviews.jsonl").location(0)
            'reviews.jsonl, line 1'
        """
        number = self.origin_line(i)
        name = self.origin_file(i)
        return name if number < 0 else f"{name}, {self.line_unit} {number}"

    def class_counts(self):
        """Examples per class, in label-id order.

        Example:
            >>> zoo.data.load("mr").class_counts()
            {'neg': 5331, 'pos': 5331}
        """
        counts = (self.labels.sum(axis=0) if self.multilabel
                  else np.bincount(self.labels, minlength=len(self.label_names)))
        return {name: int(c) for name, c in zip(self.label_names, counts)}

    def summary(self):
        """One line: source, size and examples per class (and bad rows skipped, if any)."""
        per_class = ", ".join(f"{name} {count:,}" for name, count in self.class_counts().items())
        line = f"{self.source}: {len(self):,} {'sentence pairs' if self.is_pairs else 'examples'} ({per_class})"
        if self.skipped:
            line += f"; skipped {len(self.skipped):,} bad rows"
        return line

    def without_labels(self):
        """Return these texts with the one label ``UNLABELLED``, for models that read texts alone.

        Example:
            >>> LabeledTexts(["good", "bad"], np.array([1, 0]), ["neg", "pos"]).without_labels().class_counts()
            {'text': 2}
        """
        return dataclasses.replace(self, labels=np.zeros(len(self.texts), np.int32), label_names=[UNLABELLED])

    def subset(self, indices, source=None):
        """Return the examples at ``indices`` (same label vocabulary and origins).

        Args:
            indices: Integer indices (or a boolean mask).
            source: Description of the subset; defaults to this one's.

        Example:
            >>> data = zoo.data.load("reviews.jsonl")
            >>> data.subset(range(10)).summary()
            'reviews.jsonl: 10 examples (negative 3, positive 7)'
            >>> data.subset(data.labels == 1, "positives").summary()
            'positives: 185 examples (negative 0, positive 185)'
        """
        indices = np.asarray(indices)
        if indices.dtype == bool:
            indices = np.flatnonzero(indices)
        indices = indices.astype(np.int64).reshape(-1)
        return LabeledTexts(
            [self.texts[i] for i in indices], self.labels[indices], list(self.label_names),
            source=self.source if source is None else source, files=self.files,
            origins=self.origins[indices], line_unit=self.line_unit,
            text_pairs=None if self.text_pairs is None else [self.text_pairs[i] for i in indices],
        )


    def save_jsonl(self, path):
        """Write the examples as UTF-8 jsonl that ``zoo.data.load`` reads back (pairs as ``text_a``/``text_b``;
        a multi-label example's labels as a list, read back with ``label_separator``).

        Args:
            path: The ``.jsonl`` file; its folder is created if needed.

        Example:
            >>> data = LabeledTexts(["good", "bad"], np.array([1, 0]), ["neg", "pos"])
            >>> data.save_jsonl("folds/train.jsonl")
            PosixPath('folds/train.jsonl')
            >>> print(Path("folds/train.jsonl").read_text(), end="")
            {"text": "good", "label": "pos"}
            {"text": "bad", "label": "neg"}
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        seconds = self.text_pairs if self.is_pairs else [None] * len(self)
        with open(path, "w", encoding="utf-8") as handle:
            for text, second, label in zip(self.texts, seconds, self.labels):
                texts = {"text": text} if second is None else dict(zip(PAIR_COLUMNS, (text, second)))
                names = [self.label_names[i] for i in np.flatnonzero(label)] if self.multilabel else \
                    self.label_names[label]
                handle.write(json.dumps({**texts, "label": names}, ensure_ascii=False) + "\n")
        return path


def text_list(texts):
    """The texts as a list, each a ``str`` or ``bytes``; a ``DataError`` names the index of the first that is not.

    Args:
        texts: Iterable of texts.

    Example:
        >>> text_list(("good", b"bad"))
        ['good', b'bad']
    """
    if isinstance(texts, (str, bytes)):
        # One string is iterable too: its characters would be the texts.
        raise DataError(f"expected a list of texts, not the single text {texts[:40]!r}; wrap it in a list")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, (str, bytes)):
            raise DataError(f"text {i} is a {type(text).__name__}, not a string")
    return texts


def check_labels_seen(train, other, name="validation"):
    """Raise ``UnseenLabelError`` if ``other`` has a label with no example in ``train``.

    Args:
        train: The training ``LabeledTexts``.
        other: Validation or test ``LabeledTexts`` over the same label vocabulary.
        name: What ``other`` is, for the message.

    Example:
        >>> train = LabeledTexts(["good", "fine"], [1, 1], ["neg", "pos"], source="train")
        >>> check_labels_seen(train, LabeledTexts(["good", "bad"], [1, 0], ["neg", "pos"], source="val"))
        Traceback (most recent call last):
            ...
        zoo.data.errors.UnseenLabelError: val, example 1: validation label 'neg' has no example in training (train); ...
    """
    if list(train.label_names) != list(other.label_names):
        raise UnseenLabelError(
            f"{name} label vocabulary {other.label_names} differs from training's {train.label_names}; "
            "load it with label_names=train.label_names", path=other.source,
        )
    seen = np.array(list(train.class_counts().values())) > 0
    unseen = (np.flatnonzero((other.labels[:, ~seen] > 0).any(axis=1)) if other.multilabel
              else np.flatnonzero(~seen[other.labels]))
    if unseen.size:
        i = int(unseen[0])
        label = (other.label_names[np.flatnonzero((other.labels[i] > 0) & ~seen)[0]] if other.multilabel
                 else other.label_names[other.labels[i]])
        raise UnseenLabelError(
            f"{name} label {label!r} has no example in training ({train.source}); "
            f"{unseen.size} {name} example(s) have labels unseen in training (this is the first)",
            **other.where(i),
        )


def save_label_names(directory, label_names):
    """Write the label vocabulary (id order, one name per line, UTF-8) to ``directory/labels.txt``.

    Args:
        directory: Folder, usually the tokenizer's, created if needed.
        label_names: Names in id order.

    Example:
        >>> save_label_names("my_tokenizer", ["negative", "positive"])
        PosixPath('my_tokenizer/labels.txt')
    """
    names = [str(n) for n in label_names]
    for i, name in enumerate(names):
        if not name or name != name.strip() or "\n" in name or "\r" in name:
            raise DataError(f"label name {name!r} (id {i}) cannot be stored one per line")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / LABELS_FILE).write_text("".join(n + "\n" for n in names), encoding="utf-8")
    return directory / LABELS_FILE


def load_label_names(directory):
    """Read the label vocabulary written by ``save_label_names``.

    Args:
        directory: Folder holding ``labels.txt``.

    Example:
        >>> load_label_names("runs/reviews/tokenizer")
        ['negative', 'positive']
    """
    path = Path(directory) / LABELS_FILE
    if not path.is_file():
        raise DataFileNotFoundError(f"{path}: label vocabulary file not found", path=path)
    names = path.read_text(encoding="utf-8").split("\n")
    if names and names[-1] == "":
        names.pop()
    for line, name in enumerate(names, 1):
        if not name.strip():
            raise DataError("empty label name", path=path, line=line)
    return names
