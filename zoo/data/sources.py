"""``load(spec)``: labelled texts from tfds, CSV/TSV/JSONL/parquet, class folders, one file per class, or TREC.

Every text file is decoded strictly (UTF-8, or UTF-16/32 after their byte-order mark, unless ``encoding=`` says
otherwise) and split on ``"\\n"`` only:
``str.splitlines`` also breaks on U+0085, which latin-1 decoding makes of byte 0x85 inside MR lines. A file
compressed as ``COMPRESSIONS`` lists (``reviews.csv.gz``) is decompressed first. Parquet files hold UTF-8 strings.
Nothing is dropped silently: a bad row raises an error naming the file, line (parquet: row) and column, or, with
``on_bad_rows="skip"``, is counted, listed in ``LabeledTexts.skipped`` and reported in a warning.
"""
import bz2
import codecs
import collections
import csv
import functools
import gzip
import inspect
import json
import logging
import lzma
import math
import re
import reprlib
import zlib
from pathlib import Path

import numpy as np

from zoo.data.errors import (
    BadRowError,
    DataError,
    DataFileNotFoundError,
    DataSpecError,
    EmptyClassError,
    EmptyDataError,
    EncodingError,
    MissingColumnError,
    UnseenLabelError,
)
from zoo.data.labeled import PAIR_COLUMNS, UNLABELLED, LabeledTexts
from zoo import paths

log = logging.getLogger(__name__)

# The formats whose files have named columns (text_column, label_column, sentence pairs), and the layouts of a
# folder; FORMATS, every value of format=, lists them all.
_COLUMN_FORMATS = ("csv", "tsv", "jsonl", "parquet")
_FOLDER_FORMATS = ("class_folders", "class_files")
FORMATS = (*_COLUMN_FORMATS, "trec", "lines", *_FOLDER_FORMATS)
# ``load`` options that only some layouts read: {option: the layouts that read it}. Any other layout would ignore
# the option, so one set away from its default there is an error (``_check_layout_options``), unless ``load`` was
# told it is inherited from another source's layout. ``split``, ``classes`` and ``encoding`` have checks of their
# own; the rest every layout reads.
_LAYOUT_OPTIONS = {
    "text_column": ("csv", "tsv", "jsonl", "parquet", "tfds"),
    "label_column": ("csv", "tsv", "jsonl", "parquet", "tfds"),  # False (no labels) applies to every layout
    "header": ("csv", "tsv"),
    "delimiter": ("csv",),  # TSV is split on tabs
    "label_level": ("trec",),
}
_LAYOUT_NAMES = {"csv": "a CSV file", "tsv": "a TSV file", "jsonl": "a JSONL file", "parquet": "a parquet file",
                 "tfds": "a tfds data set", "trec": "TREC data", "lines": "a file of one text per line",
                 "class_folders": "a folder of class folders", "class_files": "one file per class"}
_SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
                   ".parquet": "parquet"}
_COLUMN_SUFFIXES = tuple(suffix for suffix, fmt in _SUFFIX_FORMATS.items() if fmt in _COLUMN_FORMATS)
# Compressed files, by suffix, and the stdlib module that opens each. The suffix before it names the format
# (reviews.csv.gz is a CSV file); line numbers in errors count decompressed lines.
COMPRESSIONS = {".gz": gzip, ".bz2": bz2, ".xz": lzma, ".lzma": lzma}
# What decompressing a truncated, corrupt or uncompressed file raises: gzip.BadGzipFile and bz2's "Invalid data
# stream" are OSErrors, a stream cut short is an EOFError, damaged deflate data a zlib.error.
_DECOMPRESSION_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)
# A folder of splits (Hugging Face's files train-00000-of-00001.parquet, validation.csv, test.jsonl; aclImdb's
# folders train/ and test/): a file's first word, or a folder's name, names the split, which may have several shards.
SPLIT_NAMES = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
               "val": "validation", "dev": "validation", "test": "test", "testing": "test"}
_SPLIT_FILE = re.compile(r"^([a-z]+)(?:[-_.][^.]*)?$", re.IGNORECASE)
_TREC_LINE = re.compile(r"^([A-Z]+):(\S+)[ \t]+(.*)$")
# Only ASCII whitespace is trimmed from texts: U+0085 and U+00A0 are text in latin-1 data (MR's 0x85 is an
# ellipsis). Labels lose every kind: "pos" and "pos" with a pasted no-break space are one class.
_ASCII_SPACE = " \t\r\n\f\v"
# csv.Error's messages (it has no codes) for a newline inside an unquoted field, a quoted field still open at
# the end of the file, and a quote inside a quoted field that neither closes it nor is doubled.
_CSV_NEWLINE_ERROR = "new-line character"
_CSV_EOF_ERROR = "unexpected end of data"
_CSV_QUOTE_ERROR = re.compile(r"'.' expected after '\"'")
# How many ClassLabel names a message lists before it skips to the last (some have hundreds).
_SHOWN_CLASSES = 10
# TSV is split on tabs without quoting, but Python's csv module and pandas' to_csv(sep="\t") quote a field that
# holds a quote (doubling it), a tab or a line break. _CSV_QUOTED matches a whole such field with a doubled quote;
# _CSV_OPENED one whose quote is not closed in it (its tab or line break split it).
_CSV_QUOTED = re.compile(r'"(?:[^"]|"")*""(?:[^"]|"")*"')
_CSV_OPENED = re.compile(r'"(?:[^"]|"")*')
# How a run config writes a tab as a load option; and the load options that read a CSV-quoted TSV file.
_YAML_TAB = (' (a tab is "\\t" in double quotes in YAML, as in a --set value: '
             '--set \'data.load_options.delimiter="\\t"\')')
_CSV_WITH_TABS = "format='csv', delimiter='\\t'" + _YAML_TAB
# The delimiters a file read as one field per line may be split on instead, by format.
_OTHER_DELIMITERS = {"csv": (";", "|", "\t", ","), "tsv": (",", ";", "|")}
# aclImdb's folder of unlabelled reviews, beside its class folders.
UNLABELLED_FOLDER = "unsup"
# A JSON string may escape half a UTF-16 surrogate pair ("\ud83d"); no UTF-8 text, so no TensorFlow string, holds one.
_SURROGATE = re.compile("[\ud800-\udfff]")
# How many bytes from its start ``unmarked_wide_encoding`` reads to tell UTF-16 or UTF-32 from a stray NUL, and the
# share of UTF-16 characters that must be ASCII (one NUL each): spaces and digits in Cyrillic text are 10-15%.
_NUL_SAMPLE = 1 << 16
_WIDE_NUL_SHARE = 0.02
# Byte-order marks of UTF-32 and UTF-16 (UTF-32's little-endian mark starts with UTF-16's, so it goes first).
_WIDE_BOMS = (("utf-32", codecs.BOM_UTF32_LE), ("utf-32", codecs.BOM_UTF32_BE), ("utf-16", codecs.BOM_UTF16_LE),
              ("utf-16", codecs.BOM_UTF16_BE))
# One example per line (class files, TREC) needs every line break to be "\n" or "\r\n": in a file with old Mac
# line endings ("\r" alone) the whole file would read as one example (in TREC, with the first line's label).
_LONE_CR = ('a carriage return ("\\r") inside the line: one example per line needs line breaks "\\n" or "\\r\\n"; '
            'if the file uses old Mac line endings ("\\r" alone), convert them to "\\n"')
_IGNORED_FILES = re.compile(r"^(readme|license|licence|copying)(\..*)?$|\.md$|^\.", re.IGNORECASE)

# The shared data sets (README in each folder gives the source, encoding and protocol). ``embedded``: the
# files of the bz2-compressed copy shipped in the package (``zoo.paths.embedded_data_dir()``), read unless
# ``$ZOO_DATA_DIR`` holds the set's folder, so a fresh install trains on MR with nothing else.
SHARED = {
    "mr": {"class_files": {"neg": "mr/rt-polarity.neg", "pos": "mr/rt-polarity.pos"}, "encoding": "latin-1",
           "embedded": {"neg": "mr/rt-polarity.neg.bz2", "pos": "mr/rt-polarity.pos.bz2"}},
    "subj": {
        "class_files": {"objective": "subj/plot.tok.gt9.5000", "subjective": "subj/quote.tok.gt9.5000"},
        "encoding": "utf-8",
    },
    "trec": {"trec": "trec", "encoding": "latin-1"},
    "sms_spam": {
        "path": "sms_spam/SMSSpamCollection", "format": "tsv", "header": False,
        "label_column": 0, "text_column": 1, "encoding": "utf-8",
    },
}
SHARED["sms"] = SHARED["sms_spam"]


def load(spec, *, encoding=None, text_column=None, label_column=None, on_bad_rows="error", split=None,
         format=None, header=True, delimiter=None, label_names=None, label_level="coarse", classes=None,
         label_separator=None, data_dir=None, download=False, inherited=()):
    """Load labelled texts from a data source spec.

    Args:
        spec: One of
            ``"mr"``, ``"subj"``, ``"trec"``, ``"sms_spam"``: the shared data sets under ``zoo.paths.data_dir()``
            (``"mr"`` without one: the copy shipped inside zoo, unless ``$ZOO_DATA_DIR/mr/`` exists);
            ``"tfds:<name>[:<config>]"``: a prepared tensorflow-datasets data set;
            ``"trec:<path>"``: a TREC file, or a folder with ``train.txt`` / ``test.txt``;
            a ``.csv`` / ``.tsv`` / ``.jsonl`` / ``.parquet`` path (Hugging Face's parquet files: a ``ClassLabel``
            label column reads as its class names); a ``.txt`` file of unlabelled texts, one per line (with
            ``label_column=False``: a corpus for lm/mlm models); any of these files but parquet compressed
            (``reviews.csv.gz``, ``train.jsonl.bz2``, ``corpus.txt.xz``: ``COMPRESSIONS``, after the format's
            suffix); a folder of class sub-folders of ``.txt`` files
            (aclImdb; ``.txt`` files in folders below a class's folder are of that class);
            a folder of files ``<stem>.<label>`` with one example per line (MR's ``rt-polarity.pos/.neg``);
            or a dict ``{label: path}`` of one-example-per-line files.
        encoding: Text encoding; when not given UTF-8, or UTF-16/UTF-32 for a file starting with their
            byte-order mark (the shared MR and TREC default to latin-1). Without it, a NUL byte is an
            ``EncodingError``: NULs beside every character make a file UTF-16 or UTF-32 without its mark, which
            needs ``encoding=``; a stray NUL is damage, named by its line and byte offset.
        text_column: CSV/TSV header name or index, JSONL key, parquet column, or tfds feature holding the text
            (default ``"text"``; for tfds the data set's supervised keys). For sentence pairs, a list of
            the two CSV/TSV/JSONL/parquet columns; a file with ``text_a`` and ``text_b`` columns and no ``text``
            column is read as pairs by default (``LabeledTexts.text_pairs``).
        label_column: The same for the label (default ``"label"``). ``False`` reads the texts alone: every
            example gets the one label ``UNLABELLED`` (a corpus for lm/mlm models; a file needs no label).
            Labels are text: a CSV/TSV cell as written ("1.0"), a JSONL or parquet integer as its digits, and a
            whole-number float there (pandas' float64 of integers with a missing value) as its integer ("1").
        on_bad_rows: ``"error"`` (raise naming file, line (parquet: row) and column) or ``"skip"`` (skip, count
            and warn). A CSV record with an unbalanced double quote raises either way: where it ends is unknown.
            So does an undecodable byte, except in a class folder's file (one example) or a tfds record.
        split: ``"train"`` / ``"test"`` for TREC and tfds (default ``"train"``); other sources have no split.
        format: Force a file format: one of ``FORMATS``.
        header: Whether CSV/TSV files start with a header row; without one, columns are indices.
        delimiter: CSV field delimiter (default ``","``; TSV is split on tabs, without quoting: a TSV file written
            with CSV's quoting, as Python's ``csv`` and pandas' ``to_csv(sep="\\t")`` write one, reads with
            ``format="csv", delimiter="\\t"``; fields that look so quoted are warned of or named in errors).
        label_names: A fixed label vocabulary in id order (e.g. the training set's for a test file);
            labels outside it raise ``UnseenLabelError``. Default: the labels found, sorted; for tfds and a
            Hugging Face parquet file, the label's ``ClassLabel`` names.
        label_level: TREC labels, ``"coarse"`` (6 classes) or ``"fine"`` (50).
        classes: For class folders, the sub-folders to read (default: all but an ``unsup`` folder, aclImdb's
            unlabelled reviews, which is skipped with a warning; name it here to read it as a class). Other
            layouts read every class: ``classes`` with one of them is an error.
        label_separator: Multi-label data: every label field holds a set of labels joined by this string
            (e.g. ``"sports,politics"``; a JSONL or parquet label may also be a list of strings). An empty field
            means that no label applies. The result has a multi-hot ``labels`` matrix.
        data_dir: tfds data directory.
        download: Let tfds download and prepare the data set (this machine cannot).
        inherited: Names of options given for another source, whose layout they describe (the training data's,
            for its test file or ``zoo evaluate --data``): where this source's layout does not read one, it is
            left out rather than refused.

    An option the source's layout does not read (``header`` for a JSONL file, ``text_column`` for class folders
    or TREC, ``data_dir`` for anything but tfds) is a ``DataSpecError`` naming it, not ignored.

    Returns:
        A ``LabeledTexts``; ``summary()`` gives the examples per class, also logged at INFO level.

    Example:
        >>> data = zoo.data.load("mr")
        >>> data.class_counts()
        {'neg': 5331, 'pos': 5331}
        >>> zoo.data.load("trec", split="test").summary()
        'trec (test): 500 examples (ABBR 9, DESC 138, ENTY 94, HUM 65, LOC 81, NUM 113)'
    """
    if on_bad_rows not in ("error", "skip"):
        raise DataSpecError(f"on_bad_rows must be 'error' or 'skip', not {on_bad_rows!r}", options=("on_bad_rows",))
    if format is not None and format not in FORMATS:
        raise DataSpecError(f"format must be one of {', '.join(FORMATS)}, not {format!r}", options=("format",))
    if label_level not in ("coarse", "fine"):
        raise DataSpecError(f"label_level must be 'coarse' or 'fine', not {label_level!r}", options=("label_level",))
    if encoding is not None:
        _check_encoding_name(encoding)
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n'):
        # YAML reads '\t' (single quotes) as a backslash and a t: a tab is "\t" (double quotes).
        # With format='csv' a .tsv name changes nothing (the file may need CSV's quoting, which TSV lacks).
        tsv = ", or name the file .tsv" if format is None else ""
        tab = f' (a tab is "\\t" in double quotes in YAML{tsv})' if delimiter == "\\t" else ""
        raise DataSpecError(f"delimiter={delimiter!r}: the CSV field delimiter must be one character other than a "
                            f"double quote or a line break, e.g. ';' or '|'{tab}", options=("delimiter",))
    if label_separator is not None and (not isinstance(label_separator, str) or not label_separator.strip()):
        raise DataSpecError(f"label_separator must be a non-blank string, not {label_separator!r}",
                            options=("label_separator",))
    if label_column is False:
        given = [name for name, value in (("label_names", label_names), ("label_separator", label_separator))
                 if value is not None]
        if given:
            raise DataSpecError(f"label_column=False reads texts without labels; {given[0]} applies to labels")
    options = {
        "encoding": encoding, "text_column": text_column, "label_column": label_column,
        "on_bad_rows": on_bad_rows, "split": split, "format": format, "header": header,
        "delimiter": delimiter, "label_names": label_names, "label_level": label_level, "classes": classes,
        "label_separator": label_separator, "inherited": frozenset(inherited),
    }
    data = _load_spec(spec, options, data_dir, download)
    # CSV/TSV/JSONL readers skip the label field; class folders, TREC and tfds have labels, dropped here.
    return data.without_labels() if label_column is False else data


def _check_encoding_name(encoding):
    """Raise ``DataSpecError`` naming ``encoding=`` unless it is a Python codec that decodes bytes to text."""
    try:
        info = codecs.lookup(encoding) if isinstance(encoding, str) else None
    except LookupError:
        info = None
    # base64, rot13, zlib... are codecs too, but of bytes to bytes (or str to str): none decodes a text file.
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise DataSpecError(
            f"encoding={encoding!r} is not a text encoding Python knows: pass the name of a Python codec that "
            "decodes bytes to text, e.g. 'utf-8', 'latin-1', 'cp1252' or 'utf-16' (the list: "
            "https://docs.python.org/3/library/codecs.html#standard-encodings)", options=("encoding",))


# ``load``'s defaults, which an option left alone has.
_LOAD_DEFAULTS = {name: parameter.default for name, parameter in inspect.signature(load).parameters.items()
                  if parameter.default is not inspect.Parameter.empty}


def _load_spec(spec, options, data_dir, download):
    if not isinstance(spec, (str, Path, dict)):
        raise DataSpecError(f"a data spec is a string, a path or a {{label: path}} dict, not {type(spec).__name__}")
    text = None if isinstance(spec, dict) else str(spec)
    if text is not None and text.startswith("tfds:"):
        return _load_tfds(text[len("tfds:"):], options, data_dir=data_dir, download=download)
    for key, value in (("data_dir", data_dir), ("download", download)):
        if value != _LOAD_DEFAULTS[key]:
            raise DataSpecError(f"{key}={value!r} is read only for a tfds data set ('tfds:<name>'), which this is "
                                f"not: remove {key}=", path=text, options=(key,))
    if text is None:
        return _load_class_files(spec, "class files", options)
    if text.startswith("trec:"):
        return _load_trec_spec(Path(text[len("trec:"):]).expanduser(), options)
    if text in SHARED and not Path(text).exists():
        return _load_shared(text, options)
    return _load_path(Path(text).expanduser(), options)


def official_splits(spec, *, data_dir=None):
    """Return the official splits a spec offers, e.g. ``("train", "test")`` for TREC, ``()`` for MR.

    tfds data sets list their splits only once prepared (``()`` before).

    Args:
        spec: A ``load`` spec.
        data_dir: The tfds data directory the spec is loaded from (``load``'s ``data_dir``): a tfds data set's
            splits are those prepared there.

    Example:
        >>> official_splits("trec")
        ('train', 'test')
        >>> Path("hub").mkdir()
        >>> for name in ("train.csv", "dev.csv"):
        ...     _ = Path("hub", name).write_text("text,label\\na fine film,pos\\n")
        >>> official_splits("hub")
        ('train', 'validation')
    """
    text = str(spec) if isinstance(spec, (str, Path)) else ""
    if text.startswith("tfds:"):
        name, config = _tfds_name(text[len("tfds:"):])
        full = f"{name}/{config}" if config else name
        import tensorflow_datasets as tfds

        try:
            # data_dir as load reads it: a set prepared there, even one tfds does not know, lists its splits.
            return tuple(tfds.builder(name, config=config or None, data_dir=data_dir).info.splits.keys())
        except tfds.core.registered.DatasetNotFoundError:
            raise _tfds_not_found(full, data_dir) from None
    if text == "trec" or text.startswith("trec:"):
        folder = paths.data_dir() / "trec" if text == "trec" else Path(text[len("trec:"):]).expanduser()
        return tuple(s for s in ("train", "test") if (folder / f"{s}.txt").is_file()) if folder.is_dir() else ()
    if text and Path(text).is_dir() and (Path(text) / "train.txt").is_file() and _looks_like_trec(
            Path(text) / "train.txt"):
        return tuple(s for s in ("train", "test") if (Path(text) / f"{s}.txt").is_file())
    if text and Path(text).is_dir():
        return tuple(split_files(text))
    return ()


class _Collector:
    """Gathers examples, validates each, and raises or counts bad rows."""

    def __init__(self, options):
        self.on_bad_rows = options["on_bad_rows"]
        fixed = options["label_names"]
        self.fixed = None if fixed is None else {str(name): i for i, name in enumerate(fixed)}
        self.fixed_names = None if fixed is None else [str(n) for n in fixed]
        self.separator = options["label_separator"]
        self.texts, self.labels, self.origins, self.files, self.skipped = [], [], [], [], []
        self.pairs = []

    def file(self, path):
        self.files.append(str(path))
        return len(self.files) - 1

    def bad(self, error):
        if self.on_bad_rows == "error":
            raise error
        self.skipped.append(str(error))

    def add(self, text, label, file_index, line, *, text_column=None, label_column=None, unit="line", pair=None,
            pair_column=None):
        where = {"path": self.files[file_index], "line": line if line >= 0 else None, "unit": unit}
        text = text.strip(_ASCII_SPACE)
        if not text:
            return self.bad(BadRowError("empty text", column=text_column, **where))
        if pair is not None and not pair.strip(_ASCII_SPACE):
            return self.bad(BadRowError("empty second text of the pair", column=pair_column, **where))
        if self.separator is not None:
            return self._add_label_set(text, label, file_index, line, where, label_column, pair)
        label = label.strip()
        if not label:
            return self.bad(BadRowError("empty label", column=label_column, **where))
        if self.fixed is not None and label not in self.fixed:
            return self.bad(self._unseen(label, label_column, where))
        return self._keep(text, pair, label, file_index, line)

    def _unseen(self, label, column, where):
        """The ``UnseenLabelError`` of a label outside the fixed vocabulary; one differing only in case says so."""
        same = next((name for name in self.fixed_names if name.casefold() == label.casefold()), None)
        hint = (f"; it differs from {same!r} only in case, and labels are case-sensitive: write it {same!r}"
                if same is not None else "")
        number = next((name for name in self.fixed_names if _same_number(name, label)), None)
        if number is not None:
            # A CSV cell is text ("1.0"), where a JSONL or parquet whole-number float reads as the integer ("1").
            hint = f"; it is the number {number!r} written another way, and labels are text: write it {number!r}"
        return UnseenLabelError(f"label {label!r} is not in the label vocabulary {self.fixed_names}{hint}",
                                column=column, **where)

    def _keep(self, text, pair, label, file_index, line):
        self.texts.append(text)
        if pair is not None:
            self.pairs.append(pair.strip(_ASCII_SPACE))
        self.labels.append(label)
        self.origins.append((file_index, line))

    def _add_label_set(self, text, labels, file_index, line, where, label_column, pair=None):
        """Add a multi-label example: ``labels`` is a list, or a string of labels joined by the separator."""
        names = [name.strip() for name in (labels if isinstance(labels, list) else labels.split(self.separator))]
        if names == [""]:
            names = []
        if "" in names:
            return self.bad(BadRowError(f"empty label in {labels!r} (labels separated by {self.separator!r})",
                                        column=label_column, **where))
        unknown = [name for name in names if self.fixed is not None and name not in self.fixed]
        if unknown:
            return self.bad(self._unseen(unknown[0], label_column, where))
        return self._keep(text, pair, tuple(dict.fromkeys(names)), file_index, line)

    def _label_ids(self):
        """``(label names, label ids [n] or multi-hot [n, classes])`` of the collected examples."""
        if self.separator is None:
            names = self.fixed_names if self.fixed is not None else _sorted_labels(set(self.labels))
            ids = {name: i for i, name in enumerate(names)}
            return names, np.array([ids[label] for label in self.labels], dtype=np.int32)
        names = self.fixed_names if self.fixed is not None else _sorted_labels(
            {name for labels in self.labels for name in labels})
        ids = {name: i for i, name in enumerate(names)}
        hot = np.zeros((len(self.labels), len(names)), np.int32)
        for row, labels in enumerate(self.labels):
            hot[row, [ids[name] for name in labels]] = 1
        return names, hot

    def _check_number_spellings(self, names, labels, unit):
        """Raise when two labels are one number written two ways ("1" and "1.0", as files joined from two exports
        hold): as strings they would be two classes."""
        spelled = {}
        for class_id, name in enumerate(names):
            try:
                value = float(name)
            except ValueError:
                continue
            if value not in spelled:
                spelled[value] = name
                continue
            # The first example of the second spelling (a column of a multi-hot matrix, or a label id).
            example = int(np.flatnonzero(labels[:, class_id] if labels.ndim == 2 else labels == class_id)[0])
            file_index, line = self.origins[example]
            # A run config cannot set label_names (the run derives it from the training split): the fix that
            # works everywhere is in the file.
            raise DataError(
                f"label {name!r} is the number {spelled[value]!r} written another way; as text they would be two "
                f"classes: write each label one way in the data (e.g. {spelled[value]!r} for both). Only if they are "
                "meant as two classes: zoo.data.load(..., label_names=[...]) listing both keeps them apart (a run "
                "config has no such option)",
                path=self.files[file_index], line=line if line >= 0 else None, unit=unit, options=("label_names",))

    def result(self, source, unit="line"):
        if not self.texts:
            reason = f"no examples ({len(self.skipped)} bad rows skipped)" if self.skipped else "no examples"
            raise EmptyDataError(reason, path=self.files[0] if len(self.files) == 1 else source)
        names, labels = self._label_ids()
        if self.fixed is None:
            self._check_number_spellings(names, labels, unit)
        data = LabeledTexts(
            self.texts, labels, names, source=source,
            files=self.files, origins=np.array(self.origins, dtype=np.int64).reshape(-1, 2), line_unit=unit,
            skipped=self.skipped, text_pairs=self.pairs or None,
        )
        log.info("%s", data.summary())
        if self.fixed is None:  # a fixed vocabulary refuses the other spellings (``_unseen``)
            _warn_case_variants(data)
        if self.skipped:
            log.warning("%s: skipped %d bad rows (on_bad_rows='skip'); first: %s",
                        source, len(self.skipped), self.skipped[0])
        return data


def _warn_case_variants(data, parts=()):
    """Warn when labels of ``data`` differ only in case ("pos", "Pos", "POS"): they are separate classes, which a
    user rarely means, but may (a tag set where case matters), so zoo says so rather than merging or refusing.

    Spaces around a label are no part of it (``_Collector.add`` strips them), so "POS " is "POS". ``parts``: the
    ``LabeledTexts`` that ``data`` joins, each of which has warned of its own variants already.
    """
    groups = {}
    for name in data.label_names:
        groups.setdefault(name.casefold(), []).append(name)
    counts = data.class_counts()
    for names in groups.values():
        if len(names) < 2 or any(set(names) <= set(part.label_names) for part in parts):
            continue
        spellings = []
        for name in names:
            column = data.labels[:, data.label_names.index(name)] if data.multilabel else (
                data.labels == data.label_names.index(name))
            first = np.flatnonzero(column)
            where = f", first at {data.location(int(first[0]))}" if first.size else ""
            spellings.append(f"{name!r} ({counts[name]:,} example{'s' * (counts[name] != 1)}{where})")
        common = max(names, key=lambda name: counts[name])
        log.warning("%s: labels %s differ only in case, so they are %d classes; labels are case-sensitive: if they "
                    "are one class, write it one way in the data (e.g. %r)", data.source, ", ".join(spellings),
                    len(names), common)


def _same_number(name, label):
    """Whether label strings ``name`` and ``label`` differ but spell one finite number ("1" and "1.0")."""
    try:
        return name != label and float(name) == float(label) and math.isfinite(float(name))
    except ValueError:
        return False


def _sorted_labels(labels):
    """Labels that are all finite numbers sort as numbers ("2" before "10"); others alphabetically.

    Args:
        labels: The label strings.

    Example:
        >>> _sorted_labels({"10", "2", "nan"})
        ['10', '2', 'nan']
    """
    try:
        numbers = {label: float(label) for label in labels}
    except ValueError:
        return sorted(labels)
    # "nan" parses but compares false with everything, so the order (and every label id) would follow the
    # set's order, which changes with PYTHONHASHSEED.
    if not all(math.isfinite(number) for number in numbers.values()):
        return sorted(labels)
    return sorted(labels, key=lambda label: (numbers[label], label))


def _read_text(path, encoding):
    """Decode a whole file strictly; a bad byte, or a NUL read as UTF-8, is an error naming its line and column."""
    path = Path(path)
    if not path.exists():
        raise DataFileNotFoundError(f"{path}: no such file", path=path)
    if not path.is_file():
        raise DataSpecError("expected a file, found a directory", path=path)
    data = read_bytes(path)
    if encoding is None:
        encoding = bom_encoding(data)
        unmarked = None if encoding else unmarked_wide_encoding(data)
        if unmarked:
            line, column = _line_and_column(data, unmarked[0])
            # A stray NUL can be anywhere in a long line: its offset finds it in a hex editor.
            stray = "" if unmarked[1] else f" (byte offset {unmarked[0]}; {data.count(0):,} NUL byte(s) in the file)"
            raise EncodingError(f"byte 0x00 at byte column {column}{stray}: {unmarked_wide_hint(unmarked[1])}",
                                path=path, line=line, options=("encoding",))
    if encoding is not None:
        _check_encoding_name(encoding)
    codec = codecs.lookup(encoding or "utf-8").name
    # A UTF-8 byte-order mark (Excel writes one) is not text, whichever spelling of UTF-8 was asked for; it is
    # skipped here rather than by the utf-8-sig codec so that error positions count the file's own bytes.
    start = len(codecs.BOM_UTF8) if codec in ("utf-8", "utf-8-sig") and data.startswith(codecs.BOM_UTF8) else 0
    try:
        return codecs.decode(memoryview(data)[start:], "utf-8" if codec == "utf-8-sig" else codec)
    except UnicodeDecodeError as error:
        position = start + error.start
        line, column = _line_and_column(data, position)
        hint = ("; pass encoding= with the file's encoding (e.g. encoding='latin-1')" if encoding is None
                else "")
        raise EncodingError(
            f"byte 0x{data[position]:02x} at byte column {column} cannot be decoded as "
            f"{encoding or 'utf-8'}{hint}", path=path, line=line, options=("encoding",) if hint else (),
        ) from None


def read_bytes(path):
    """Return the bytes of file ``path``, decompressed when its suffix is one of ``COMPRESSIONS``.

    A truncated or corrupt archive, or a file named so but not compressed, is a ``DataError`` naming it.

    Args:
        path: The file.

    Example:
        >>> _ = Path("texts.txt.gz").write_bytes(gzip.compress(b"a fine film\\n"))
        >>> read_bytes("texts.txt.gz")
        b'a fine film\\n'
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in COMPRESSIONS:
        return path.read_bytes()
    with COMPRESSIONS[suffix].open(path, "rb") as handle:
        try:
            return handle.read()
        except _DECOMPRESSION_ERRORS as error:
            raise DataError(
                f"cannot decompress the {suffix} file ({type(error).__name__}: {error}): it is truncated or corrupt "
                f"(an interrupted download or copy?), or not {COMPRESSIONS[suffix].__name__}-compressed; download or "
                f"compress it again, or, if it is not compressed, remove {suffix} from its name", path=path,
            ) from None


def format_suffix(path):
    """Return the lower-case suffix that names the format of file ``path``: before a ``COMPRESSIONS`` suffix, if any.

    Args:
        path: The file.

    Example:
        >>> format_suffix("reviews.CSV.gz"), format_suffix("train.jsonl"), format_suffix("notes.xz")
        ('.csv', '.jsonl', '')
    """
    path = Path(path)
    return (path.with_suffix("") if path.suffix.lower() in COMPRESSIONS else path).suffix.lower()


def data_stem(path):
    """Return the name of file ``path`` without its format's suffix and a ``COMPRESSIONS`` suffix after it.

    Example:
        >>> data_stem("data/reviews.csv.gz"), data_stem("train-00000-of-00001.parquet"), data_stem("mr")
        ('reviews', 'train-00000-of-00001', 'mr')
    """
    path = Path(path)
    packed = path.suffix if path.suffix.lower() in COMPRESSIONS else ""
    return path.name[:len(path.name) - len(packed) - len(format_suffix(path))]


def _line_and_column(data, position):
    """The 1-based line and byte column of ``data[position]``."""
    return data.count(b"\n", 0, position) + 1, position - (data.rfind(b"\n", 0, position) + 1) + 1


def unmarked_wide_encoding(data):
    """The offset of the first NUL byte in ``data`` and the wide encoding its NULs suggest, or None without NULs.

    A file read as UTF-8 holds NULs when it is UTF-16 or UTF-32 that lost its byte-order mark: ASCII in UTF-16 is
    valid UTF-8 with a NUL after (little-endian) or before (big-endian) each character, so it would decode
    without error into column names no header matches and texts full of U+0000. The encoding is None where the
    NULs lack that pattern (a stray NUL in a damaged file): ``unmarked_wide_hint`` then says so instead.

    Example:
        >>> unmarked_wide_encoding("text".encode("utf-16-le")), unmarked_wide_encoding(b"text")
        ((1, 'utf-16-le'), None)
        >>> unmarked_wide_encoding(b"text,label\\nfine\\x00,pos\\n")
        (15, None)
    """
    position = data.find(b"\x00")
    if position < 0:
        return None
    sample = data[:_NUL_SAMPLE]
    # Every character of UTF-32 below U+10000 has two NUL bytes on the same side of it.
    units = len(sample) // 4
    if units >= 2:
        for high, next_high, name in ((3, 2, "utf-32-le"), (0, 1, "utf-32-be")):
            if sample[high:4 * units:4].count(0) == units and sample[next_high:4 * units:4].count(0) >= 0.8 * units:
                return position, name
    # UTF-16 puts the NUL of each ASCII character (spaces and digits even in Cyrillic or Greek text) on one side:
    # odd byte offsets in little-endian, even ones in big-endian. Stray NULs fall on both, and are few.
    odd, even = sample[1::2].count(0), sample[0::2].count(0)
    for nuls, others, name in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if nuls >= 2 and nuls >= 9 * others and nuls >= _WIDE_NUL_SHARE * len(sample) / 2:
            return position, name
    return position, None


def unmarked_wide_hint(guess):
    """What to tell a user whose file held a NUL byte (see ``unmarked_wide_encoding``; ``guess`` None: a NUL
    that is no part of a wide encoding)."""
    if guess is None:
        return ("a NUL byte, which text does not hold: the file holds a stray NUL, not one beside every character "
                "as UTF-16 or UTF-32 would; remove it (the file may be damaged or partly binary), or, if the file is "
                "in another encoding, pass encoding= with its encoding")
    return (f"a NUL byte, which UTF-8 text does not hold; the file looks like UTF-16 or UTF-32 without a byte-order "
            f"mark: pass encoding= with its encoding (e.g. encoding={guess!r})")


def bom_encoding(data):
    """The encoding named by a UTF-32 or UTF-16 byte-order mark at the start of ``data``, or None.

    No UTF-8 file starts with these bytes; Excel's "Unicode Text" export (UTF-16) does. The codec returned reads
    the mark and skips it. Readers use it when no encoding was given, before falling back to UTF-8.

    Args:
        data: The file's bytes.

    Example:
        >>> bom_encoding("text,label".encode("utf-16")), bom_encoding(b"text,label")
        ('utf-16', None)
    """
    return next((name for name, mark in _WIDE_BOMS if data.startswith(mark)), None)


def split_lines(text):
    """Return ``text``'s lines, split on "\\n" only, without a trailing empty line and with "\\r" removed.

    ``str.splitlines`` would also break on U+0085, U+2028 and other characters that are text in real files
    (MR's latin-1 0x85 is an ellipsis).

    Args:
        text: The decoded contents of a file.

    Example:
        >>> split_lines("one\\r\\ntwo\\x85three\\n")
        ['one', 'two\\x85three']
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _load_shared(name, options):
    root = paths.data_dir()
    entry = SHARED[name]
    embedded = "embedded" in entry and paths.external_set_dir(name) is None
    if embedded:
        root = paths.embedded_data_dir()
        log.info("%s: reading the copy shipped with zoo in %s", name, root / name)
    elif not root.is_dir():
        raise DataFileNotFoundError(
            f"shared data directory {root} not found (needed for {name!r}); set {paths.DATA_DIR_ENV} to its location",
            path=root,
        )
    merged = dict(options)
    for key in ("encoding", "format", "text_column", "label_column"):
        if merged[key] is None and key in entry:
            merged[key] = entry[key]
    if "header" in entry:
        merged["header"] = entry["header"]
    if "class_files" in entry:
        files = {label: root / rel for label, rel in entry["embedded" if embedded else "class_files"].items()}
        return _load_class_files(files, name, merged)
    if "trec" in entry:
        return _load_trec_spec(root / entry["trec"], merged, source=name)
    return _load_path(root / entry["path"], merged, source=name)


def _load_path(path, options, source=None):
    if not path.exists():
        raise DataFileNotFoundError(
            f"{path}: no such file or directory (named data sets: {', '.join(sorted(SHARED))}; "
            "tfds data sets: 'tfds:<name>')", path=path,
        )
    fmt = options["format"]
    if path.is_dir():
        return _load_directory(path, options, source or str(path))
    if fmt is None:
        fmt = _SUFFIX_FORMATS.get(format_suffix(path))
    if fmt is None and _looks_like_trec(path, options["encoding"]):
        fmt = "trec"
    if fmt is None and format_suffix(path) == ".txt":
        fmt = "lines"
    if fmt is None:
        file_formats = [repr(name) for name in FORMATS if name not in _FOLDER_FORMATS]
        raise DataSpecError(
            f"cannot tell the format of this file from its name; pass format= one of {', '.join(file_formats)} (a "
            f"compressed file's name ends in its format's suffix, then {' or '.join(COMPRESSIONS)}: reviews.csv.gz)",
            path=path, options=("format",),
        )
    if fmt in ("csv", "tsv"):
        return _load_delimited(path, fmt, options, source or str(path))
    if fmt == "jsonl":
        return _load_jsonl(path, options, source or str(path))
    if fmt == "parquet":
        return _load_parquet(path, options, source or str(path))
    if fmt == "trec":
        return _load_trec_spec(path, options, source)
    if fmt == "lines":
        return _load_lines(path, options, source or str(path))
    raise DataSpecError(f"format {fmt!r} needs a directory, not a file", path=path)


def _load_lines(path, options, source):
    """A corpus of unlabelled texts, one per line (a ``.txt`` file that is not TREC's); blank lines separate
    nothing and are skipped."""
    _check_split_none(options, source)
    if options["label_column"] is not False:
        raise DataSpecError(
            "this file holds one text per line and no labels, so it feeds an lm or mlm model (zoo pretrain, "
            "data.extra_sources) or label_column=False; a classifier needs labelled data: a "
            f"{'/'.join('.' + name for name in _COLUMN_FORMATS)} file with a label column, a folder of class "
            "folders, or a folder of one-text-per-line files <name>.<label>",
            path=path)
    if options["text_column"] is not None:
        raise DataSpecError(f"text_column={options['text_column']!r} names a column, but this file holds one text "
                            "per line; remove text_column", path=path, options=("text_column",))
    _check_layout_options(options, "lines", path)
    collector = _Collector(options)
    file_index = collector.file(path)
    for number, line in enumerate(split_lines(_read_text(path, options["encoding"])), 1):
        if "\r" in line:
            collector.bad(BadRowError(_LONE_CR, path=path, line=number))
        elif line.strip(_ASCII_SPACE):
            collector.add(line, UNLABELLED, file_index, number)
    return collector.result(source)


def _looks_like_trec(path, encoding=None):
    compression = COMPRESSIONS.get(Path(path).suffix.lower())
    try:
        with (compression.open if compression else open)(path, "rb") as handle:
            # _read_text skips a UTF-8 byte-order mark (Notepad writes one); so does the check.
            first = handle.readline().removeprefix(codecs.BOM_UTF8).decode(encoding or "latin-1")
    except (*_DECOMPRESSION_ERRORS, LookupError, UnicodeDecodeError):  # not TREC; reading it says what is wrong
        return False
    return bool(_TREC_LINE.match(first.rstrip("\r\n")))


def _load_directory(path, options, source):
    fmt = options["format"]
    if fmt == "trec" or (fmt is None and (path / "train.txt").is_file() and _looks_like_trec(path / "train.txt")):
        return _load_trec_spec(path, options, source=source)
    splits = split_files(path) if fmt is None else {}
    if splits:
        return _load_split_files(path, splits, options, source)
    subdirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if fmt is None:
        _check_training_split(path, subdirs)
    if fmt == "class_folders" or (fmt is None and subdirs and options["classes"] is not None):
        return _load_class_folders(path, options, source)
    if fmt is None and subdirs and any(_example_files(d)[0] for d in subdirs):
        return _load_class_folders(path, options, source)
    files = sorted(p for p in path.iterdir() if p.is_file() and not _IGNORED_FILES.search(p.name))
    stems = {}
    for file in files:
        if file.suffix:
            stems.setdefault(file.stem, []).append(file)
    groups = [group for group in stems.values() if len(group) >= 2]
    if fmt in (None, "class_files") and len(groups) == 1:
        others = [f.name for f in files if f not in groups[0]]
        if others:  # e.g. a class file whose stem has a typo: its class would be missing without a word
            log.warning("%s: skipped %d files that are not %s.<label> class files, e.g. %s; pass a {label: path} "
                        "dict to read them", source, len(others), groups[0][0].stem, others[0])
        return _load_class_files({f.suffix[1:]: f for f in groups[0]}, source, options)
    raise DataSpecError(
        "cannot tell the layout of this directory: expected class sub-folders of .txt files, TREC "
        f"train.txt/test.txt, splits ({'/'.join(_COLUMN_SUFFIXES)} files or sub-folders named train, validation "
        "or test, e.g. train-00000-of-00001.parquet), or files <stem>.<label> with one example per line (found "
        f"{len(subdirs)} sub-folders and files {[f.name for f in files][:8]}); pass a {{label: path}} dict",
        path=path,
    )


def _check_training_split(path, subdirs):
    """Refuse a folder of validation or test splits without a training split, which read as no layout (files) or
    as class folders named after the splits (sub-folders ``validation/`` and ``test/``)."""
    found = _split_entries(path)[0]
    entries = [entry for split in ("validation", "test") for entry in found.get(split, [])]
    if not entries or (all(entry.is_dir() for entry in entries) and any(
            SPLIT_NAMES.get(folder.name.lower()) is None for folder in subdirs)):
        return
    names = [f"{entry.name}/" if entry.is_dir() else entry.name for entry in entries]
    folders = all(entry.is_dir() for entry in entries)
    raise DataSpecError(
        f"the folder holds {' and '.join(split for split in ('validation', 'test') if split in found)} split files "
        f"({', '.join(names)}) but no training split: add it as train.csv (or .tsv, .jsonl, .parquet; shards "
        "train-00000-of-00002.parquet, train-00001-of-00002.parquet; or a train/ folder), or name a file of the "
        "folder itself as the data" + ("; if they are class folders, not splits, pass format='class_folders'"
                                       if folders else ""), path=path, options=("format",) if folders else ())


def split_files(folder):
    """``{split: [files or folders]}`` of a folder of splits, in the order train, validation, test; empty unless
    it holds a training split.

    A file is a split's when its format is a columns format (``.csv``, ``.jsonl``, ``.parquet``..., compressed
    too) and its name's first word is a ``SPLIT_NAMES`` key (``train.csv``, ``dev.tsv``,
    ``validation-00000-of-00001.parquet``); a sub-folder when its name is one (aclImdb's ``train/`` and ``test/``
    of class folders, Hugging Face's converted ``train/0000.parquet``). Several entries of a split are its shards,
    read in name order; one split under two names (``dev.csv`` and ``validation.csv``), or one name twice
    (``train.csv`` and ``train.jsonl``), is a ``DataSpecError``. A validation or test parquet file whose class
    labels are all -1 (unlabelled, as GLUE's test files) is left out, with a warning.

    Args:
        folder: The folder.

    Example:
        >>> Path("splits").mkdir()
        >>> for name in ("test.jsonl", "train-00000-of-00002.parquet", "train-00001-of-00002.parquet", "notes.md"):
        ...     _ = Path("splits", name).write_text("")
        >>> {split: [f.name for f in files] for split, files in split_files("splits").items()}
        {'train': ['train-00000-of-00002.parquet', 'train-00001-of-00002.parquet'], 'test': ['test.jsonl']}
    """
    found = _split_entries(folder)[0]
    for entries in found.values():
        _check_split_names(folder, entries)
    ordered = {split: found[split] for split in ("train", "validation", "test") if split in found}
    return ordered if "train" in ordered else {}


def _split_entries(folder):
    """``({split: [entries]}, [column files named after no split])`` of ``folder``, in name order (see
    ``split_files``, which checks them)."""
    found, unused = {}, []
    for entry in sorted(Path(folder).iterdir()):
        if entry.is_dir():
            split = SPLIT_NAMES.get(entry.name.lower())
        elif format_suffix(entry) in _COLUMN_SUFFIXES:
            match = _SPLIT_FILE.match(data_stem(entry))
            split = SPLIT_NAMES.get(match.group(1).lower()) if match else None
            if split is None and not _IGNORED_FILES.search(entry.name):
                unused.append(entry)
        else:
            continue
        # A held-out file without a label (GLUE hides its test labels) is no split to score on.
        if split and not (split != "train" and entry.is_file() and format_suffix(entry) == ".parquet"
                          and _unlabelled_parquet(entry, entry.stat().st_mtime_ns)):
            found.setdefault(split, []).append(entry)
    return found, unused


def _split_word(entry):
    """The word naming the split of a split folder's entry, in lower case: ``dev`` for ``dev.tsv``."""
    return entry.name.lower() if entry.is_dir() else _SPLIT_FILE.match(data_stem(entry)).group(1).lower()


def _entry_stem(entry):
    return entry.name if entry.is_dir() else data_stem(entry)


def _check_split_names(folder, entries):
    """Refuse one split's entries that are not its shards: two names of it (``dev.csv`` and ``validation.csv``),
    or one name twice (``train.csv`` and ``train.jsonl``), which would be joined as shards, silently."""
    words = {}
    for entry in entries:
        words.setdefault(_split_word(entry), entry)
    split = SPLIT_NAMES[next(iter(words))]
    if len(words) > 1:
        names = [entry.name for entry in words.values()]
        raise DataSpecError(
            f"{' and '.join(names)} both name the {split} split (as {' and '.join(words)}), so its examples would "
            "be the files joined: remove or rename one of them (a split's shards share one name: "
            f"{split}-00000-of-00002.csv, {split}-00001-of-00002.csv)", path=folder)
    stems = {}
    for entry in entries:
        twin = stems.setdefault(_entry_stem(entry).lower(), entry)
        if twin is not entry:
            raise DataSpecError(
                f"{twin.name} and {entry.name} are both the {split} split by the same name (the same data in two "
                f"formats?), not shards of it: remove or rename one of them (a split's shards are numbered: "
                f"{split}-00000-of-00002.csv, {split}-00001-of-00002.csv)", path=folder)


# The rest of a split shard's name after its split's word: numbered (``-00000-of-00002``, ``_1``, ``.part0``...).
_NUMBERED_SHARD = re.compile(r"^[-_.](?:[a-z]*)\d", re.IGNORECASE)


@functools.lru_cache(maxsize=None)
def _warn_once(message):
    """Log ``message`` as a warning once per process (a run reads a folder of splits once per split)."""
    log.warning("%s", message)


@functools.lru_cache(maxsize=None)
def _unlabelled_parquet(path, mtime_ns):
    """Whether every ``ClassLabel`` column of a Hugging Face parquet file holds -1 (unlabelled) throughout, as its
    column statistics tell without reading the rows; said once per file (and version, ``mtime_ns``)."""
    import pyarrow
    import pyarrow.parquet

    try:
        parquet = pyarrow.parquet.ParquetFile(path)
    except (pyarrow.ArrowException, OSError):
        return False  # loading it says what is wrong
    columns = {name for name in parquet.schema_arrow.names if class_label_names(parquet.schema_arrow, name)}
    chunks = [group.column(i) for group in map(parquet.metadata.row_group, range(parquet.metadata.num_row_groups))
              for i in range(group.num_columns) if group.column(i).path_in_schema in columns]
    unlabelled = bool(chunks) and all(chunk.statistics is not None and chunk.statistics.has_min_max
                                      and chunk.statistics.max < 0 for chunk in chunks)
    if unlabelled:
        log.warning("%s: every row is unlabelled (class id -1 throughout, as GLUE's test files are): it is not used "
                    "as a split", path)
    return unlabelled


def _load_split_files(path, splits, options, source):
    """One split (``split=``, default ``train``) of a folder of splits, its shards joined."""
    split = options["split"] or "train"
    if split not in splits:
        raise DataSpecError(f"this folder of splits has the splits {', '.join(splits)}, not {split!r}",
                            path=path, options=("split",))
    options = {**options, "split": None}
    unused = _split_entries(path)[1]
    if unused:  # a file the user put there for a reason, e.g. a validation file named after no split
        names = [entry.name for entry in unused]
        _warn_once(f"{path}: skipped {len(names)} data file(s) named after no split: {', '.join(names)}; a split's "
                   f"files are named after it ({', '.join(sorted(SPLIT_NAMES))}): rename one to read it as a split "
                   "or one of its shards (e.g. train-00001-of-00002.csv), or read it as a source of its own "
                   "(zoo.data.load(PATH); in a run config data.validation_source or data.test_source, or "
                   "data.extra_sources for an lm/mlm run's texts)")
    entries = splits[split]
    words = [_entry_stem(entry)[len(_split_word(entry)):] for entry in entries]
    if len(entries) > 1 and not all(_NUMBERED_SHARD.match(word) for word in words):
        # Hugging Face's numbered shards are one split for sure; train.csv beside train_extra.csv may not be.
        _warn_once(f"{path}: the {split} split joins {len(entries)} files as its shards: "
                   f"{', '.join(entry.name for entry in entries)}; move any that is not part of it out of the folder")
    return _joined([_load_split_part(entry, options) for entry in entries], f"{source} ({split})")


def _load_split_part(entry, options):
    """A split's file, or its folder: of column files only, shards (``train/0000.parquet``); else any layout."""
    if entry.is_dir():
        inside = sorted(p for p in entry.iterdir() if not p.name.startswith("."))
        shards = [p for p in inside if p.is_file() and format_suffix(p) in _COLUMN_SUFFIXES]
        if shards and not any(p.is_dir() for p in inside):
            return _joined([_load_path(shard, options, str(shard)) for shard in shards], str(entry))
    return _load_path(entry, options, str(entry))


def _joined(parts, source):
    """``LabeledTexts`` of the examples of ``parts`` in order, their label vocabularies merged (sorted as one); one
    part is itself."""
    if len(parts) == 1:
        return parts[0]
    names = parts[0].label_names if all(p.label_names == parts[0].label_names for p in parts) else _sorted_labels(
        {name for part in parts for name in part.label_names})
    labels, origins, files = [], [], []
    for part in parts:
        ids = np.array([names.index(name) for name in part.label_names], dtype=np.int32)
        if part.multilabel:
            hot = np.zeros((len(part), len(names)), np.int32)
            hot[:, ids] = part.labels
            labels.append(hot)
        else:
            labels.append(ids[part.labels])
        origins.append(part.origins + [len(files), 0])
        files += part.files
    pairs = [pair for part in parts for pair in part.text_pairs] if parts[0].is_pairs else None
    data = LabeledTexts([text for part in parts for text in part.texts], np.concatenate(labels), names,
                        source=source, files=files, origins=np.concatenate(origins), line_unit=parts[0].line_unit,
                        skipped=[row for part in parts for row in part.skipped], text_pairs=pairs)
    _warn_case_variants(data, parts)  # "pos" in one shard, "Pos" in another
    return data


def _check_layout_options(options, layout, path):
    """Raise for an option of ``_LAYOUT_OPTIONS`` set away from ``load``'s default that ``layout`` (a key of
    ``_LAYOUT_NAMES``) would ignore: ``text_column`` for MR's class files was read as nothing, silently."""
    for key, readers in _LAYOUT_OPTIONS.items():
        value = options[key]
        if (layout in readers or key in options["inherited"] or value == _LOAD_DEFAULTS[key]
                or (key == "label_column" and value is False)):
            continue
        names = [_LAYOUT_NAMES[reader] for reader in readers]
        read_from = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        raise DataSpecError(f"{key}={value!r} is read only from {read_from}; this is {_LAYOUT_NAMES[layout]}, "
                            f"which would ignore it: remove {key}=", path=path, options=(key,))


def _check_split_none(options, what):
    if options["split"] is not None and "split" not in options["inherited"]:
        raise DataSpecError(f"{what} has no official splits (split={options['split']!r}); "
                            "use zoo.data.train_val_test_split or zoo.data.kfold")


def _check_encoding_none(options, layout, path):
    """``encoding`` decodes the bytes of text files; a parquet file or a tfds data set holds decoded strings."""
    if options["encoding"] is not None and "encoding" not in options["inherited"]:
        raise DataSpecError(f"encoding={options['encoding']!r} decodes text files, but this is {layout}, whose "
                            "strings are already decoded; remove encoding=", path=path, options=("encoding",))


def _check_classes_none(options, layout, path, fix=""):
    """``classes`` chooses class folders; any other layout would read every class in spite of it."""
    if options["classes"] is not None and "classes" not in options["inherited"]:
        raise DataSpecError(f"classes={options['classes']!r} chooses the sub-folders of a folder of class folders, "
                            f"but this is {layout}, of which every class would be read; remove classes={fix}",
                            path=path)


def _load_class_files(mapping, source, options):
    """One file per class, one example per line; a blank line is an example with empty text."""
    _check_split_none(options, source)
    _check_classes_none(options, "one file per class", source, " and pass a {label: path} dict of the files to read")
    _check_layout_options(options, "class_files", source)
    if not mapping:
        raise DataSpecError("the {label: path} mapping is empty")
    collector = _Collector(options)
    for label, path in mapping.items():
        path = Path(path).expanduser()
        file_index = collector.file(path)
        lines = split_lines(_read_text(path, options["encoding"]))
        if not lines or not any(line.strip(_ASCII_SPACE) for line in lines):
            raise EmptyClassError(f"class {label!r} has zero examples: the file is empty", path=path)
        before = len(collector.texts)
        for number, line in enumerate(lines, 1):
            if "\r" in line:
                collector.bad(BadRowError(_LONE_CR, path=path, line=number))
                continue
            collector.add(line, str(label), file_index, number)
        if len(collector.texts) == before:
            raise EmptyClassError(
                f"class {label!r} has zero examples: all {len(lines)} lines were bad rows", path=path)
    return collector.result(source)


def _load_class_folders(root, options, source):
    """aclImdb layout: ``root/<class>/*.txt``, one example per file."""
    _check_split_none(options, source)
    _check_layout_options(options, "class_folders", source)
    classes = options["classes"]
    if classes is None:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if any(folder.name == UNLABELLED_FOLDER for folder in folders) and len(folders) > 2:
            # aclImdb/train's unsup/ holds 50,000 unlabelled reviews: read as a class they would be two thirds
            # of a three-class problem.
            folders = [folder for folder in folders if folder.name != UNLABELLED_FOLDER]
            log.warning("%s: skipped the folder %s/ (aclImdb's unlabelled reviews); classes %s. Pass "
                        "classes=[...] (in a run config, data.load_options.classes) to choose the class folders.",
                        source, UNLABELLED_FOLDER,
                        [folder.name for folder in folders])
    else:
        folders = [root / str(name) for name in classes]
        for folder in folders:
            if not folder.is_dir():
                raise DataFileNotFoundError(f"{folder}: class folder not found", path=folder)
    collector = _Collector(options)
    for folder in folders:
        files, others = _example_files(folder)
        if others:
            log.warning("%s: skipped %d files of class %r that are not .txt files, e.g. %s", source, len(others),
                        folder.name, others[0])
        if not files:
            raise EmptyClassError(f"class {folder.name!r} has zero examples: no .txt files in the folder or its "
                                  "sub-folders", path=folder)
        before = len(collector.texts)
        for count, file in enumerate(files, 1):
            file_index = collector.file(file)
            try:
                text = _read_text(file, options["encoding"]).replace("\r\n", "\n")
            except EncodingError as error:
                # The file is one example: undecodable, it is a bad row (as an undecodable tfds record is).
                collector.bad(error)
            else:
                collector.add(text, folder.name, file_index, -1)
            if count % 10000 == 0:
                log.info("%s: read %d files of class %r", source, count, folder.name)
        if len(collector.texts) == before:
            raise EmptyClassError(f"class {folder.name!r} has zero examples: all {len(files)} files are empty or "
                                  "undecodable", path=folder)
    return collector.result(source)


def _example_files(folder):
    """``(.txt files, other files)`` under a class folder, sorted; sub-folders are read too, hidden ones not.

    Examples are often grouped in sub-folders (by source or date) below their class's folder. Hidden files and
    folders (``.DS_Store``, ``.ipynb_checkpoints`` with its copies of the files) and README/licence files are
    not examples. The suffix is matched in any case (``.TXT``).
    """
    files = sorted(path for path in folder.rglob("*") if path.is_file() and not _IGNORED_FILES.search(path.name)
                   and not any(part.startswith(".") for part in path.relative_to(folder).parts))
    return [f for f in files if f.suffix.lower() == ".txt"], [f for f in files if f.suffix.lower() != ".txt"]


def resolve_column(column, header, path, role, line=1, by_index=True):
    """Return the index of ``column`` (a header name or an index) or raise naming the file and header.

    A name the header holds twice is an error: which of the columns is meant is unknown.

    Args:
        column: A header name, or a column index.
        header: The header's column names (``None``: the file has no header, so ``column`` must be an index).
        path: The file, for errors.
        role: What the column holds (``"text"``, ``"label"``), for errors.
        line: The header's line number, for errors.
        by_index: Whether the caller's user can name a column by its index, which the fix for a duplicated name
            then suggests (``zoo predict --text-field`` takes names only).

    Example:
        >>> resolve_column("review", ["id", "review"], "d.csv", "text")
        1
    """
    if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
        if header is not None and not 0 <= column < len(header):
            raise MissingColumnError(
                f"{role} column index {column} is out of range: the header has {len(header)} columns {header}",
                path=path, line=line, column=int(column))
        return int(column)
    if header is None:
        raise DataSpecError(f"with header=False the {role} column must be an index, not {column!r}", path=path,
                            options=(COLUMN_OPTIONS[role],))
    if column not in header:
        # A file without a header row loses its first example to the header: say so, with the fix.
        no_header = (f", or, if line {line} is an example rather than a header, pass header=False and column "
                     "indices") if by_index else ""
        raise MissingColumnError(f"{role} column {column!r} does not exist; the header has {header}: name the "
                                 f"column with {COLUMN_OPTIONS[role]}={no_header}{_pair_hint(role, column, header)}",
                                 path=path, line=line, column=column,
                                 options=(COLUMN_OPTIONS[role], *(("header",) if by_index else ())))
    indices = [i for i, name in enumerate(header) if name == column]
    if len(indices) > 1:
        raise DataSpecError(f"{role} column {column!r} is named {len(indices)} times in the header (columns "
                            f"{', '.join(map(str, indices))}); rename the others"
                            + (", or give the column's index" if by_index else ""),
                            path=path, line=line, column=column)
    return indices[0]


# What the text column(s) hold, for errors: one text, or the two texts of a sentence pair.
TEXT_ROLES = ("text", "second text")
# The load option naming the column of each role.
COLUMN_OPTIONS = {**dict.fromkeys(TEXT_ROLES, "text_column"), "label": "label_column"}


def _pair_hint(role, column, names):
    """The end of the error for a missing text column ``column`` of ``role``, given ``names`` (a header's columns,
    a record's keys), on sentence pairs: a pair file that lacks ``text_b`` beside ``text_a`` (or the reverse) reads
    as single texts, and only the missing ``text`` column was named; a pair's missing second column, how the two
    are named. ``""`` otherwise.

    Example:
        >>> _pair_hint("text", "text", ["text_a", "label"]).split(":")[0]
        "; a sentence pair's file has 'text_b' beside 'text_a'"
    """
    present = [name for name in PAIR_COLUMNS if name in names]
    if role == "text" and column == "text" and len(present) == 1:
        missing = next(name for name in PAIR_COLUMNS if name not in names)
        return (f"; a sentence pair's file has {missing!r} beside {present[0]!r}: add it, or name a pair's two "
                "columns with text_column=[first, second]")
    if role == TEXT_ROLES[1]:
        return "; text_column=[first, second] names the two columns of a sentence pair"
    return ""


def _text_columns(column, header, path):
    """The text column(s) to read: ``[text]``, or ``[first, second]`` for sentence pairs.

    Without an explicit ``column``: ``text``, or ``PAIR_COLUMNS`` when ``header`` (column names or JSON keys)
    has both of them and no ``text``.
    """
    if column is None:
        pairs = header is not None and "text" not in header and all(name in header for name in PAIR_COLUMNS)
        return list(PAIR_COLUMNS) if pairs else ["text"]
    if isinstance(column, (list, tuple)):
        if len(column) != 2:
            raise DataSpecError(f"text_column as a list names the two columns of a sentence pair; got {column!r}",
                                path=path, options=("text_column",))
        return list(column)
    return [column]


def _load_delimited(path, fmt, options, source):
    _check_split_none(options, str(path))
    _check_classes_none(options, f"a {fmt.upper()} file", path)
    _check_layout_options(options, fmt, path)
    lines = split_lines(_read_text(path, options["encoding"]))
    if not any(line.strip(_ASCII_SPACE) for line in lines):
        raise EmptyDataError("file is empty", path=path)
    records = delimited_records(lines, fmt, path, options["delimiter"] or ",")
    label_name = "label" if options["label_column"] is None else options["label_column"]
    labelled = label_name is not False
    header = None
    if not options["header"]:
        text_names = _text_columns(options["text_column"], None, path)
        text_indices = [resolve_column(name, None, path, role) for name, role in zip(text_names, TEXT_ROLES)]
        label_index = resolve_column(label_name, None, path, "label") if labelled else None
    collector = _Collector(options)
    file_index = collector.file(path)
    width = 0
    quoted = []  # (line, column, field) of each TSV field that looks CSV-quoted
    for line, row in records:
        if isinstance(row, BadRowError):
            if options["header"] and header is None:
                raise row  # without its header no row of the file can be read
            collector.bad(row)
            continue
        if options["header"] and header is None:
            if not row:
                continue
            header = header_names(row)
            text_names = _text_columns(options["text_column"], header, path)
            _check_header_split(header, [*zip(text_names, TEXT_ROLES), *([(label_name, "label")] * labelled)],
                                fmt, options["delimiter"], path, line)
            text_indices = [resolve_column(name, header, path, role, line)
                            for name, role in zip(text_names, TEXT_ROLES)]
            label_index = resolve_column(label_name, header, path, "label", line) if labelled else None
            continue
        if not row:
            continue
        if header is not None and header_names(row) == header:
            collector.bad(BadRowError("the row repeats the header (files joined with their header rows?); remove it",
                                      path=path, line=line))
            continue
        width = len(header) if header is not None else width or len(row)
        if len(row) > width:
            # Extra fields mean a stray delimiter (a tab inside a TSV text): a column would be cut short.
            hint, fix_options = _split_row_hint(row, fmt, options["delimiter"])
            collector.bad(BadRowError(
                f"row has {len(row)} fields but the {'header' if header is not None else 'first row'} has "
                f"{width}; a delimiter inside a field must be quoted (CSV) or removed (TSV){hint}",
                path=path, line=line, options=fix_options))
            continue
        fields = [*zip(text_indices, text_names, TEXT_ROLES), *([(label_index, label_name, "label")] * labelled)]
        for index, name, role in fields:
            if index >= len(row):
                hint, fix_options = _split_row_hint(row, fmt, options["delimiter"])
                collector.bad(BadRowError(f"row has {len(row)} field(s); the {role} field (column {index}) "
                                          f"is missing{hint}", path=path, line=line, column=name, options=fix_options))
                break
        else:
            if fmt == "tsv":
                quoted.extend((line, name, row[index]) for index, name, _ in fields
                              if _CSV_QUOTED.fullmatch(row[index]))
            pair = text_indices[1:]
            collector.add(row[text_indices[0]], row[label_index] if labelled else UNLABELLED, file_index, line,
                          text_column=text_names[0], label_column=label_name,
                          pair=row[pair[0]] if pair else None, pair_column=text_names[-1])
    if header is None and options["header"]:
        raise EmptyDataError("file is empty", path=path)
    if header is not None and not collector.texts and not collector.skipped:
        raise EmptyDataError("file has a header but no rows", path=path)
    if quoted:
        # A warning, not an error: a TSV text may hold such quotes as text, and TSV has no way to say so.
        line, column, field = quoted[0]
        log.warning("%s: %d field(s) look CSV-quoted, first on line %d, column %r: %s; TSV is read without quoting, "
                    "so their quotes are part of the text. If the file was written as CSV with tabs (Python's csv, "
                    "pandas' to_csv(sep=\"\\t\")), read it with %s", path, len(quoted), line, column,
                    reprlib.repr(field), _CSV_WITH_TABS)
    return collector.result(source)


def _split_row_hint(row, fmt, delimiter):
    """``(text, load options it sets)`` to add to the error for a row with too few or too many fields, when they
    suggest how the file's fields are really delimited: CSV quoting in a TSV file, or one field that holds another
    delimiter; else ``("", ())``."""
    if fmt == "tsv" and any(_CSV_OPENED.fullmatch(field) for field in row):
        return ("; a field opens a double quote that it does not close, as Python's csv module and pandas' "
                "to_csv(sep=\"\\t\") write a text that holds a line break or a tab: TSV is read without quoting, "
                f"so if the file was written so, read it with {_CSV_WITH_TABS}"), ("format", "delimiter")
    fix = _other_delimiter_fix(row[0], fmt, delimiter) if len(row) == 1 else None
    if fix is None:
        return "", ()
    return f"; the row is one field holding {fix[0]!r}: {fix[1]}", fix[2]


def _other_delimiter_fix(field, fmt, delimiter):
    """``(character, fix, load options it sets)`` for a file whose one field per line holds a likely delimiter other
    than the one it was split on (``delimiter`` for CSV, a tab for TSV), the most frequent; None if it holds none."""
    used = "\t" if fmt == "tsv" else delimiter or ","
    counts = {char: field.count(char) for char in _OTHER_DELIMITERS[fmt] if char != used}
    char = max(counts, key=counts.get)
    if not counts[char]:
        return None
    settings = {"format": "'csv'"} if fmt == "tsv" else {}
    if fmt == "csv" or char != ",":  # ',' is CSV's default
        settings["delimiter"] = repr(char) + (_YAML_TAB if char == "\t" else "")
    fix = ", ".join(f"{name}={value}" for name, value in settings.items())
    return char, f"if the fields are separated by {_shown(char)}, not {_shown(used)}, read it with {fix}", tuple(
        settings)


def _shown(delimiter):
    return "tabs" if delimiter == "\t" else repr(delimiter)


def _check_header_split(header, columns, fmt, delimiter, path, line):
    """Raise ``MissingColumnError`` for a header of one column that lacks a wanted column but holds another likely
    delimiter (``text;label`` read with ``,``): the fix is the delimiter, not a column name.

    A TSV header whose names are quoted (pandas' ``to_csv(sep="\\t", quoting=csv.QUOTE_NONNUMERIC)``) is the same
    mistake: the file needs CSV's quoting.

    Args:
        header: The header's column names.
        columns: ``[(column, role)]`` the reader needs (names, or indices).
        fmt: ``"csv"`` or ``"tsv"``.
        delimiter: The CSV delimiter option.
        path: The file, for errors.
        line: The header's line number, for errors.
    """
    missing = [(column, role) for column, role in columns if (
        column not in header if isinstance(column, str) else isinstance(column, (int, np.integer))
        and column >= len(header))]
    if not missing:
        return
    column, role = missing[0]
    if fmt == "tsv" and f'"{column}"' in header:
        raise MissingColumnError(
            f"{role} column {column!r} does not exist; the header has {header}, whose names are in double quotes, "
            f"as CSV writes them: TSV is read without quoting, so read the file with {_CSV_WITH_TABS}",
            path=path, line=line, column=column, options=("format", "delimiter"))
    fix = _other_delimiter_fix(header[0], fmt, delimiter) if len(header) == 1 else None
    if fix:
        raise MissingColumnError(
            f"{role} column {column!r} does not exist; the header has {header}, one column whose name holds "
            f"{fix[0]!r}: {fix[1]}", path=path, line=line, column=column, options=fix[2])


def header_names(row):
    """Return the column names of a CSV/TSV header row, as every reader of such files takes them.

    Spaces and tabs around a name are no part of it, nor is a byte-order mark (a file joined after another keeps
    its mark mid-file, where it decodes as U+FEFF).

    Args:
        row: The header's fields.

    Example:
        >>> header_names(["\ufeffid", " text ", "label\t"])
        ['id', 'text', 'label']
    """
    return [name.strip(_ASCII_SPACE) for name in [row[0].lstrip("\ufeff"), *row[1:]]]


def delimited_records(lines, fmt, path, delimiter=","):
    """``(line number, fields)`` of each record of a ``"csv"`` or ``"tsv"`` file's lines (``split_lines``).

    A CSV record that cannot be read is a ``BadRowError`` in place of its fields; an unbalanced quote raises
    one. TSV has no quoting: a line is a record split on tabs, and a '"' or a lone "\\r" in it is text.

    Args:
        lines: The file's lines.
        fmt: ``"csv"`` or ``"tsv"``.
        path: The file, for messages.
        delimiter: The CSV field delimiter.

    Example:
        >>> list(delimited_records(['text\\tlabel', '"a"\\tpos'], "tsv", "d.tsv"))
        [(1, ['text', 'label']), (2, ['"a"', 'pos'])]
    """
    if fmt == "tsv":
        return ((number, line.split("\t") if line else []) for number, line in enumerate(lines, 1))
    return _csv_records(lines, delimiter, path)


def _csv_records(lines, delimiter, path):
    """Yield ``(first line, fields)`` per CSV record, or ``(line, BadRowError)`` for one with a stray "\\r".

    A record with an unbalanced double quote raises ``BadRowError`` even with ``on_bad_rows="skip"``: where
    such a record ends is unknown, so skipping it could swallow the good rows after it.

    Args:
        lines: The file's lines, without their "\\n".
        delimiter: The field delimiter.
        path: The file, for errors.

    Example:
        >>> list(_csv_records(['text,label', '"a, b",pos'], ",", "d.csv"))
        [(1, ['text', 'label']), (2, ['a, b', 'pos'])]
    """
    # strict: a quote that does not close a field where it should is an error, not text merged with the
    # lines after it until some later quote.
    # csv refuses fields over 131,072 characters by default; a field can be as long as the file.
    csv.field_size_limit(max(csv.field_size_limit(), sum(len(line) + 1 for line in lines)))
    reader = csv.reader((line + "\n" for line in lines), delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            reason = str(error)
            # csv.Error has only its message to tell its causes apart. Lines are split on "\n", so the only
            # newline the reader can meet inside a line is a lone "\r"; it then drops the rest of that line
            # and reads the next record from the next line, so that one record can be skipped.
            if reason.startswith(_CSV_NEWLINE_ERROR):
                yield reader.line_num, BadRowError(
                    'a carriage return ("\\r") inside an unquoted field; quote the field or remove the "\\r"',
                    path=path, line=reader.line_num)
                start = reader.line_num + 1
                continue
            if reason == _CSV_EOF_ERROR:
                detail = "its quoted field runs to the end of the file"
            elif _CSV_QUOTE_ERROR.match(reason):
                detail = (f"on line {reader.line_num} a double quote inside its quoted field is followed by "
                          f"neither {delimiter!r} nor the end of the line")
            else:
                raise BadRowError(f"malformed CSV: {reason}", path=path, line=start) from None
            raise BadRowError(
                f"unbalanced double quote in the record starting on this line: {detail}. Quote the whole field "
                'and double every quote inside it (e.g. "say ""hi"" now"), or remove the stray quote. Where this '
                "record ends is unknown, so this is an error even with on_bad_rows='skip'",
                path=path, line=start) from None
        yield start, row
        start = reader.line_num + 1


class JsonRecord(dict):
    """A JSON object that remembers its repeated keys (``json`` keeps the last value of each, silently).

    Args:
        pairs: the object's ``(key, value)`` pairs, as ``json.loads(..., object_pairs_hook=JsonRecord)`` gives them.

    Example:
        >>> json.loads('{"text": "a", "text": "b"}', object_pairs_hook=JsonRecord).repeated
        {'text'}
    """

    def __init__(self, pairs):
        super().__init__(pairs)
        self.repeated = {key for key, count in collections.Counter(key for key, _ in pairs).items() if count > 1}


def _load_jsonl(path, options, source):
    _check_split_none(options, str(path))
    _check_classes_none(options, "a JSONL file", path)
    _check_layout_options(options, "jsonl", path)
    lines = split_lines(_read_text(path, options["encoding"]))
    if not any(line.strip(_ASCII_SPACE) for line in lines):
        raise EmptyDataError("file is empty", path=path)
    collector = _Collector(options)
    file_index = collector.file(path)
    fields = None
    for number, line in enumerate(lines, 1):
        if not line.strip(_ASCII_SPACE):
            continue
        try:
            record = json.loads(line, object_pairs_hook=JsonRecord)
        except json.JSONDecodeError as error:
            collector.bad(BadRowError(f"invalid JSON: {error.msg}", path=path, line=number, column=error.colno))
            continue
        if not isinstance(record, dict):
            collector.bad(BadRowError(f"expected a JSON object, found {type(record).__name__}",
                                      path=path, line=number))
            continue
        if fields is None:
            fields = _record_fields(options, list(record), path)
            for key, role in fields:
                if key not in record:
                    raise MissingColumnError(f"{role} field {key!r} does not exist; the first record has keys "
                                             f"{sorted(record)}: name the key with {COLUMN_OPTIONS[role]}="
                                             f"{_pair_hint(role, key, record)}", path=path, line=number,
                                             column=key, options=(COLUMN_OPTIONS[role],))
        _add_record(collector, record, fields, file_index, number, "line", repeated=record.repeated)
    return collector.result(source)


def _record_fields(options, keys, path):
    """``[(key, role)]`` of the fields every JSONL record or parquet row must hold: the text, or the two texts of a
    pair (``_text_columns`` picks them from ``keys``, the first record's or the file's columns), then the label
    unless ``label_column=False``."""
    label_key = "label" if options["label_column"] is None else options["label_column"]
    text_keys = _text_columns(options["text_column"], keys, path)
    return [*zip(text_keys, TEXT_ROLES), *([(label_key, "label")] * (label_key is not False))]


def _add_record(collector, record, fields, file_index, number, unit, repeated=()):
    """Add a JSONL record or parquet row (a dict) to ``collector``, or pass it to ``collector.bad``.

    Each of ``fields`` (``_record_fields``) must hold a value: a text is a string; a label a string, an integer or a
    whole-number float (read as the integer), or with a label separator a list of strings. ``number`` counts
    ``unit``s (``"line"``, ``"row"``); ``repeated``: the keys the JSON object holds more than once.
    """
    where = {"path": collector.files[file_index], "line": number, "unit": unit}
    values = []
    for key, role in fields:
        if key in repeated:
            return collector.bad(BadRowError(f"{role} key {key!r} appears more than once in the record, so which "
                                             f"value is the {role} is unknown; keep one", column=key, **where))
        value = record.get(key)
        if value is None:
            return collector.bad(BadRowError(f"{role} field is missing or null", column=key, **where))
        if role == "label" and isinstance(value, float):
            # pandas stores an integer column with a missing value as float64 (1.0, NaN), in parquet and in JSONL
            # it writes: a whole number is the integer it was, as a CSV cell is the text it holds ("1.0").
            if math.isnan(value):
                return collector.bad(BadRowError("label field is NaN, a missing value (pandas writes one for an empty "
                                                 "cell of a number column)", column=key, **where))
            value = int(value) if value.is_integer() else value
        label_set = (role == "label" and collector.separator is not None and isinstance(value, list)
                     and all(isinstance(v, str) for v in value))
        valid = isinstance(value, str) if role != "label" else label_set or (
            isinstance(value, (str, int)) and not isinstance(value, bool))
        if not valid:
            kind = "a string" if role != "label" else "a string or an integer" + (
                " or a list of strings" if collector.separator is not None else "")
            several = (role == "label" and collector.separator is None and isinstance(value, list)
                       and all(isinstance(v, str) for v in value))
            # Naming on_bad_rows marks the error as one skipping does not fix (zoo.training.data.naming_config_keys):
            # skipping would leave out every example.
            fix = ("; a list of labels per example is multi-label data: train it with model.overrides.mode: "
                   "multilabel (zoo.data.load: label_separator=), not on_bad_rows='skip', which would leave out "
                   "every such row") if several else ""
            if role == "label" and isinstance(value, float):
                fix = (f"; only a whole number can be a class id: if {value!r} names a class, write it as the "
                       f"string {json.dumps(str(value))}")
            return collector.bad(BadRowError(f"{role} field must be {kind}, not {type(value).__name__} "
                                             f"{reprlib.repr(value)}{fix}", column=key, **where))
        surrogate = next(filter(None, map(_SURROGATE.search, value if label_set else [str(value)])), None)
        if surrogate:
            return collector.bad(BadRowError(
                f"{role} field holds the unpaired surrogate \\u{ord(surrogate.group()):04x} (half of a UTF-16 "
                "pair, e.g. an emoji cut in two), which is no character and cannot be encoded as UTF-8; remove "
                "it", column=key, **where))
        values.append(value if label_set else str(value))
    text_keys = [key for key, role in fields if role != "label"]
    label_key = fields[-1][0] if fields[-1][1] == "label" else False
    label = UNLABELLED if label_key is False else values.pop()
    collector.add(values[0], label, file_index, number, text_column=text_keys[0], label_column=label_key, unit=unit,
                  pair=values[1] if len(values) == 2 else None, pair_column=text_keys[-1])


def _load_parquet(path, options, source):
    """A parquet file, a batch of rows at a time, each row checked as a JSONL record is; the ids of a Hugging Face
    ``ClassLabel`` read as its class names."""
    _check_split_none(options, str(path))
    _check_classes_none(options, "a parquet file", path)
    _check_encoding_none(options, "a parquet file (UTF-8 by its format)", path)
    _check_layout_options(options, "parquet", path)
    parquet = open_parquet(path)
    schema = parquet.schema_arrow
    fields = _record_fields(options, schema.names, path)
    for key, role in fields:
        count = schema.names.count(key)
        if not count:
            raise MissingColumnError(f"{role} column {key!r} does not exist; the file has columns {schema.names}: "
                                     f"name the column with {COLUMN_OPTIONS[role]}="
                                     f"{_pair_hint(role, key, schema.names)}", path=path, column=key,
                                     options=(COLUMN_OPTIONS[role],))
        if count > 1:  # pyarrow would read the last of them, silently
            raise DataSpecError(f"{role} column {key!r} is named {count} times in the file, so which holds the "
                                f"{role} is unknown; rename the others", path=path, column=key)
    label_key = fields[-1][0] if fields[-1][1] == "label" else None
    names = class_label_names(schema, label_key) if label_key is not None else None
    if names is not None and options["label_names"] is None:
        # As for tfds: the ids keep their classes' order, and a class missing from this file keeps its id.
        options = {**options, "label_names": names}
    collector = _Collector(options)
    file_index = collector.file(path)
    for number, row in parquet_rows(parquet, path, [key for key, _ in fields]):
        label = row[label_key] if names is not None else None
        ids = label if isinstance(label, list) else [label]
        if label is not None and all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            outside = [i for i in ids if not 0 <= i < len(names)]
            if outside:
                # names[-1] would silently make an id of -1 the last class, and a larger id an IndexError.
                collector.bad(BadRowError(_class_label_outside(outside[0], names), path=path, line=number,
                                          column=label_key, unit="row"))
                continue
            row[label_key] = [names[i] for i in ids] if isinstance(label, list) else names[label]
        _add_record(collector, row, fields, file_index, number, "row")
    return collector.result(source, unit="row")


def _class_label_outside(label_id, names):
    """Why a parquet row's ``ClassLabel`` id ``label_id`` is none of ``names``'s, and what to do."""
    if label_id == -1:  # Hugging Face's mark of an unlabelled row (GLUE's test splits)
        return (f"the row is unlabelled: label id -1 is none of the classes 0-{len(names) - 1} of the file's "
                "ClassLabel; use a file whose rows are labelled (a train or validation split), on_bad_rows='skip' "
                "to leave such rows out, or label_column=False to read the texts alone")
    shown = ", ".join(f"{i} {name!r}" for i, name in enumerate(names[:_SHOWN_CLASSES]))
    more = f", ... {len(names) - 1} {names[-1]!r}" if len(names) > _SHOWN_CLASSES else ""
    return (f"label id {label_id} is outside the file's ClassLabel, whose {len(names)} classes are ids "
            f"0-{len(names) - 1} ({shown}{more}): the file's labels and its features disagree (written by another "
            "version of the data set?); fix the file's labels or its ClassLabel names, or pass on_bad_rows='skip' "
            "to leave such rows out")


def class_label_names(schema, column):
    """The class names of ``column`` where it is a Hugging Face ``ClassLabel``, or a list of them (a multi-label
    ``Sequence``, or ``List`` in newer ``datasets``, of one ``ClassLabel``); else None.

    Hugging Face ``datasets`` stores class labels as integer ids, and their names in the schema metadata under
    ``huggingface``: ``{"info": {"features": {"label": {"names": [...], "_type": "ClassLabel"}, ...}}}``;
    ``{"labels": {"feature": {"names": [...], "_type": "ClassLabel"}, "_type": "Sequence"}}`` for lists of them.

    Args:
        schema: The file's arrow schema (``open_parquet(path).schema_arrow``).
        column: The column's name.

    Example:
        >>> import json, pyarrow
        >>> features = {"label": {"names": ["neg", "pos"], "_type": "ClassLabel"}}
        >>> schema = pyarrow.schema([("label", pyarrow.int64())], {"huggingface": json.dumps({"info": {"features":
        ...                                                                                           features}})})
        >>> class_label_names(schema, "label"), class_label_names(schema, "text")
        (['neg', 'pos'], None)
    """
    try:
        feature = json.loads(schema.metadata[b"huggingface"])["info"]["features"][column]
        if feature["_type"] in ("Sequence", "List", "LargeList"):
            feature = feature["feature"]
        return [str(name) for name in feature["names"]] if feature["_type"] == "ClassLabel" else None
    except (TypeError, KeyError, ValueError):  # no metadata (None), another writer's, or no such feature
        return None


def open_parquet(path):
    """Open parquet file ``path`` for ``parquet_rows``.

    A file that is not parquet, or is truncated or corrupt, is a ``DataError`` naming it, as is a compressed one
    (``.parquet.gz``): parquet compresses its columns itself, so such files are read as they are. pyarrow is
    imported here, on first use.

    Args:
        path: The ``.parquet`` file.

    Example:
        >>> import pyarrow, pyarrow.parquet
        >>> pyarrow.parquet.write_table(pyarrow.table({"text": ["a fine film"], "label": ["pos"]}), "d.parquet")
        >>> open_parquet("d.parquet").schema_arrow.names
        ['text', 'label']
    """
    import pyarrow
    import pyarrow.parquet

    path = Path(path)
    if path.suffix.lower() in COMPRESSIONS:
        raise DataSpecError(f"parquet files compress their own columns, so zoo reads them as they are, not "
                            f"{path.suffix}-compressed: decompress this one first", path=path)
    try:
        return pyarrow.parquet.ParquetFile(path)
    except (pyarrow.ArrowException, OSError) as error:
        raise _parquet_error(error, path) from None


def parquet_rows(parquet, path, columns=None):
    """Yield ``(row number, row)`` of an ``open_parquet`` file, a batch of rows at a time.

    Rows count from 1; each is a dict of ``columns``' values (default: every column's) as Python values (a null
    is None). A damaged row group is a ``DataError``; so is a string that is not UTF-8, which the file's writer
    should have refused, naming its row and column.

    Args:
        parquet: The ``open_parquet`` file.
        path: Its path, for errors.
        columns: The columns to read.

    Example:
        >>> import pyarrow, pyarrow.parquet
        >>> pyarrow.parquet.write_table(pyarrow.table({"text": ["a fine film"], "label": ["pos"]}), "d.parquet")
        >>> list(parquet_rows(open_parquet("d.parquet"), "d.parquet", ["text"]))
        [(1, {'text': 'a fine film'})]
    """
    import pyarrow

    number = 0
    try:
        for batch in parquet.iter_batches(columns=columns):
            try:
                rows = batch.to_pylist()
            except UnicodeDecodeError:
                _check_utf8(batch, number, path)
                raise
            for row in rows:
                number += 1
                yield number, row
    except (pyarrow.ArrowException, OSError) as error:
        raise _parquet_error(error, path) from None


def _parquet_error(error, path):
    return DataError(f"cannot read the file as parquet ({error}): it is truncated or corrupt (write or download it "
                     "again), or not parquet (name it by its format, e.g. .csv)", path=path)


def _check_utf8(batch, number, path):
    """Raise ``EncodingError`` for the first string of ``batch`` (the rows after row ``number``) that is not UTF-8,
    naming its row and column, which pyarrow's ``UnicodeDecodeError`` does not."""
    for name, column in zip(batch.schema.names, batch.columns):
        for offset in range(len(column)):
            try:
                column[offset].as_py()
            except UnicodeDecodeError as error:
                raise EncodingError(f"the string is not valid UTF-8 ({error.reason}), as every parquet string must "
                                    "be; fix the program that wrote the file", path=path, line=number + offset + 1,
                                    column=name, unit="row") from None


def _trec_label(coarse, fine, level):
    return coarse if level == "coarse" else f"{coarse}:{fine}"


def _load_trec_spec(path, options, source=None):
    """A TREC file, or a folder with ``train.txt`` / ``test.txt`` (``split`` picks; labels from train)."""
    if not path.exists():
        raise DataFileNotFoundError(f"{path}: no such TREC file or directory", path=path)
    _check_classes_none(options, "TREC data", path)
    _check_layout_options(options, "trec", source or path)
    if path.is_file():
        if options["split"] is not None:
            raise DataSpecError(f"split={options['split']!r} needs a TREC folder with train.txt and test.txt, "
                                "not one file", path=path)
        return _load_trec_file(path, options, source or str(path))
    split = options["split"] or "train"
    if split not in ("train", "test"):
        raise DataSpecError(f"TREC has splits 'train' and 'test', not {split!r}", path=path)
    file = path / f"{split}.txt"
    if not file.is_file():
        raise DataFileNotFoundError(f"{file}: TREC {split} file not found", path=file)
    options = dict(options)
    if split != "train" and options["label_names"] is None and (path / "train.txt").is_file():
        # Test labels take their ids from train's vocabulary (all 50 fine labels occur in train, only
        # 42 in test), so a model trained on train.txt reads test ids correctly.
        options["label_names"] = _trec_label_vocabulary(path / "train.txt", options)
    return _load_trec_file(file, options, f"{source or path} ({split})")


def _trec_label_vocabulary(path, options):
    labels = set()
    for line in split_lines(_read_text(path, options["encoding"])):
        match = _TREC_LINE.match(line)
        if match:
            labels.add(_trec_label(match.group(1), match.group(2), options["label_level"]))
    return _sorted_labels(labels)


def _load_trec_file(path, options, source):
    lines = split_lines(_read_text(path, options["encoding"]))
    if not any(line.strip(_ASCII_SPACE) for line in lines):
        raise EmptyDataError("file is empty", path=path)
    collector = _Collector(options)
    file_index = collector.file(path)
    for number, line in enumerate(lines, 1):
        if "\r" in line:
            collector.bad(BadRowError(_LONE_CR, path=path, line=number))
            continue
        match = _TREC_LINE.match(line)
        if not match:
            collector.bad(BadRowError(f"expected 'COARSE:fine question text', found {line[:60]!r}",
                                      path=path, line=number))
            continue
        collector.add(match.group(3), _trec_label(match.group(1), match.group(2), options["label_level"]),
                      file_index, number)
    return collector.result(source)


def _tfds_name(name_and_config):
    """``(name, config)`` of the part of a spec after ``tfds:``: ``<name>[:<config>]``, or tfds's own spelling
    ``<name>/<config>`` (``glue/sst2``); ``config`` is ``""`` when none is given.

    Example:
        >>> _tfds_name("glue:sst2"), _tfds_name("glue/sst2"), _tfds_name("imdb_reviews")
        (('glue', 'sst2'), ('glue', 'sst2'), ('imdb_reviews', ''))
    """
    name, _, config = name_and_config.partition(":")
    if "/" in name:
        if config:
            raise DataSpecError("give the config once, as 'tfds:<name>:<config>' (or tfds's "
                                "'tfds:<name>/<config>')", path=f"tfds:{name_and_config}")
        name, _, config = name.partition("/")
    if not name:
        raise DataSpecError("tfds spec needs a name: 'tfds:<name>[:<config>]'")
    if "/" in config or ":" in config:
        raise DataSpecError("a tfds spec is 'tfds:<name>[:<config>]' (a version or builder arguments cannot be "
                            "given)", path=f"tfds:{name_and_config}")
    return name, config


def _tfds_not_found(full, data_dir):
    return DataSpecError(f"tensorflow-datasets has no data set named {full!r}, and none is prepared under "
                         f"data_dir={data_dir or '~/tensorflow_datasets'}", path=f"tfds:{full}", options=("data_dir",))


def _load_tfds(name_and_config, options, *, data_dir, download):
    import tensorflow_datasets as tfds

    name, config = _tfds_name(name_and_config)
    full = f"{name}/{config}" if config else name
    _check_classes_none(options, "a tfds data set", f"tfds:{full}")
    _check_encoding_none(options, "a tfds data set", f"tfds:{full}")
    _check_layout_options(options, "tfds", f"tfds:{full}")
    split = options["split"] or "train"
    where = f"tfds:{full} ({split})"
    try:
        dataset, info = tfds.load(full, split=split, data_dir=data_dir, download=download, with_info=True)
    except tfds.core.registered.DatasetNotFoundError:
        raise _tfds_not_found(full, data_dir) from None
    except AssertionError as error:
        raise DataFileNotFoundError(
            f"tfds:{full}: the data set is not prepared under data_dir={data_dir or '~/tensorflow_datasets'} "
            f"({error}). This machine cannot download it. Either prepare it where there is network "
            f"(`tfds build {full}`), copy the folder here and pass data_dir=, or point zoo at local files "
            "instead: zoo.data.load('train.csv', text_column=..., label_column=...), a folder of class "
            "sub-folders, or a {label: file} dict.", path=f"tfds:{full}", options=("data_dir",),
        ) from None
    except Exception as error:
        if not download:
            raise
        raise DataFileNotFoundError(
            f"tfds:{full}: download and preparation failed ({type(error).__name__}: {error}); point zoo at "
            f"local files instead (a {'/'.join(_COLUMN_FORMATS)} path, class folders or a {{label: file}} dict)",
            path=f"tfds:{full}",
        ) from error
    features = info.features
    text_key, label_key = options["text_column"], options["label_column"]
    if isinstance(text_key, (list, tuple)):
        raise DataSpecError(f"text_column={text_key!r}: sentence pairs are read from {'/'.join(_COLUMN_FORMATS)} "
                            "files, not tfds", path=f"tfds:{full}")
    supervised = info.supervised_keys or (None, None)
    if text_key is None:
        text_key = supervised[0] if isinstance(supervised[0], str) else _only_feature(
            features, tfds.features.Text, "text", full)
    if label_key is None or label_key is False:
        label_key = supervised[1] if isinstance(supervised[1], str) else _only_feature(
            features, tfds.features.ClassLabel, "label", full)
    for key, role in ((text_key, "text"), (label_key, "label")):
        if key not in features:
            raise MissingColumnError(f"{role} feature {key!r} does not exist; features are {sorted(features)}",
                                     path=f"tfds:{full}", column=key)
    label_feature = features[label_key]
    if not isinstance(label_feature, tfds.features.ClassLabel):
        raise DataSpecError(f"label feature {label_key!r} is {type(label_feature).__name__}, not a ClassLabel",
                            path=f"tfds:{full}")
    options = dict(options)
    names = list(label_feature.names)
    if options["label_names"] is None:
        options["label_names"] = names
    collector = _Collector(options)
    file_index = collector.file(where)
    number = 0
    for batch in tfds.as_numpy(dataset.map(lambda ex: (ex[text_key], ex[label_key])).batch(4096)):
        for raw, label in zip(*batch):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                collector.bad(EncodingError(f"text is not valid UTF-8 ({error.reason})", path=where, line=number,
                                            column=text_key, unit="record"))
            else:
                label = int(label)
                if 0 <= label < len(names):
                    collector.add(text, names[label], file_index, number, text_column=text_key,
                                  label_column=label_key, unit="record")
                else:
                    # tfds marks an unlabelled record -1 (imdb_reviews' "unsupervised" split); names[-1] would
                    # silently make it the last class.
                    collector.bad(BadRowError(
                        f"the record is unlabelled: label id {label} is none of the classes 0-{len(names) - 1}; "
                        f"choose a split whose records are labelled (this is split={split!r})",
                        path=where, line=number, column=label_key, unit="record"))
            number += 1
    return collector.result(f"tfds:{full} ({split})", unit="record")


def _only_feature(features, kind, role, full):
    keys = [key for key, feature in features.items() if isinstance(feature, kind)]
    if len(keys) != 1:
        raise DataSpecError(f"cannot tell which feature is the {role} (candidates {keys}); pass {role}_column=",
                            path=f"tfds:{full}")
    return keys[0]
