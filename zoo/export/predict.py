"""Predict with an exported SavedModel or a run directory, for a few texts or whole files.

Every text gets a prediction; three kinds of doubtful input are flagged rather than refused, exactly as the
SavedModel flags them (``zoo.export.serving``), and a warning counts them:

- ``empty_input``: nothing left after cleaning (``""``, ``"   "``, ``"<br />"``; a blank line of a ``.txt``
  input too); the prediction is the model's answer for empty input. A sentence pair is flagged when either
  of its texts has nothing left.
- ``replaced_bytes``: the text held bytes that are not UTF-8, replaced by U+FFFD before predicting. Inputs
  read as UTF-8 (texts on the command line, UTF-8 files) pass such bytes on as they are, so ``zoo predict``
  and the SavedModel see the same bytes and agree. A file in another encoding needs ``encoding=``.
- ``truncated``: the text had more tokens than the model reads (its ``sequence_length``, special tokens
  included) and was predicted on what fits, cut as training cut it.
"""
import codecs
import csv
import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from zoo.console import a_task
from zoo.data.errors import DataError
from zoo.data.labeled import PAIR_COLUMNS
from zoo.data.sources import (COMPRESSIONS, TEXT_ROLES, JsonRecord, bom_encoding, class_label_names,
                              delimited_records, format_suffix, header_names, open_parquet, parquet_rows, read_bytes,
                              resolve_column, split_lines, unmarked_wide_encoding, unmarked_wide_hint)
from zoo.export import versions
from zoo.export.generative import GENERATIVE_TASKS
from zoo.export.saved_model import read_metadata
from zoo.export.serving import ServingGraph, label_id_output
from zoo.paths import check_output, output_errors

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 64
# Input files by suffix; those but .parquet may also be compressed (zoo.data.sources.COMPRESSIONS: texts.csv.gz).
INPUT_SUFFIXES = (".txt", ".csv", ".tsv", ".jsonl", ".parquet")
# The inputs with columns, of which text_field names one.
_COLUMN_INPUTS = ", ".join(INPUT_SUFFIXES[1:-1]) + " or " + INPUT_SUFFIXES[-1]
# The input path that reads standard input (one text per line, as a .txt file), and its name in messages.
STDIN, STDIN_NAME = "-", "<stdin>"
OUTPUT_SUFFIXES = (".jsonl", ".csv", ".parquet")
FLAGS = ("empty_input", "replaced_bytes", "truncated")
# An lm or seq2seq export's flag beside FLAGS: its text stopped where the model's positions end (zoo.export.generative).
GENERATED_FLAG = "context_full"
OUTPUT_FIX = (f"set the output path (--output) to a {', '.join(OUTPUT_SUFFIXES[:-1])} or {OUTPUT_SUFFIXES[-1]} file "
              "in a directory you can write")


class PredictInputError(ValueError):
    """An input file or text list that cannot be predicted on; the message names the file and line."""


class ModelLoadError(ValueError):
    """An exported model that cannot be used: a file missing, truncated or corrupt (the message names it), or
    a model exported by an older zoo, without the ``empty_input`` / ``replaced_bytes`` / ``truncated`` outputs."""


@dataclasses.dataclass
class Predictions:
    """Model outputs for ``N`` texts.

    Attributes:
        probabilities: ``[N, C]`` class probabilities.
        label_ids: ``[N]`` predicted class ids (the most probable class; two classes with a threshold: the second
            where its probability reaches the threshold); multi-label, ``[N, C]`` multi-hot: 1 for each label in
            ``labels``.
        labels: the ``N`` predicted label strings (multi-label: the labels at or over the threshold, by default the
            ``MULTILABEL_THRESHOLD`` of ``zoo.evaluation.metrics``, comma-joined).
        label_names: the ``C`` class names.
        empty_input: ``[N]`` whether nothing was left of the text after cleaning.
        replaced_bytes: ``[N]`` whether invalid UTF-8 bytes of the text were replaced by U+FFFD.
        truncated: ``[N]`` whether the text had more tokens than the model reads and was cut to them.
        mode: ``multiclass``, ``binary`` or ``multilabel``: a record's ids are ``label_id``, or ``label_ids``
            (multi-hot) for ``multilabel``.
    """

    probabilities: np.ndarray
    label_ids: np.ndarray
    labels: list
    label_names: list
    empty_input: np.ndarray
    replaced_bytes: np.ndarray
    truncated: np.ndarray
    mode: str = "multiclass"

    def records(self, texts=None):
        """Return one JSON-ready dict per text: ``label``, ``label_id`` (multi-label: ``label_ids``, multi-hot in
        ``label_names`` order), ``probabilities`` by name and the flags.

        ``text`` (when ``texts`` are given) is the text as predicted: invalid bytes shown as U+FFFD.

        Example:
            >>> texts = ["a gripping, funny film"]
            >>> load_predictor("saved_models/reviews").predict(texts).records(texts)
            [{'text': 'a gripping, funny film', 'label': 'positive', 'label_id': 1,
              'probabilities': {'negative': 0.01..., 'positive': 0.98...}, 'empty_input': False, 'replaced_bytes': False,
              'truncated': False}]
        """
        rows = []
        for i, label in enumerate(self.labels):
            if texts is None:
                row = {}
            elif isinstance(texts[i], (tuple, list)):
                row = {column: shown_text(t) for column, t in zip(PAIR_COLUMNS, texts[i])}
            else:
                row = {"text": shown_text(texts[i])}
            row["label"] = label
            row[label_id_output(self.mode)] = self.label_ids[i].tolist()
            row["probabilities"] = {n: float(p) for n, p in zip(self.label_names, self.probabilities[i])}
            row.update({flag: bool(getattr(self, flag)[i]) for flag in FLAGS})
            rows.append(row)
        return rows

    def warn_flagged(self, sequence_length, pairs=False, quiet=()):
        """Log a warning for each kind of flagged input (``empty_input``, ``replaced_bytes``, ``truncated``) with
        its count.

        Args:
            sequence_length: the most tokens the model reads, for the ``truncated`` warning.
            pairs: the inputs were sentence pairs: the counts are of pairs.
            quiet: flags not to warn about (the caller reports them itself).
        """
        unit = "pair" if pairs else "text"
        empty = ("had a text with nothing left after cleaning; each is predicted on what is left" if pairs
                 else "had nothing left after cleaning; each is predicted as empty input")
        for flag, what in (("empty_input", empty),
                           ("replaced_bytes", "held bytes that are not UTF-8, replaced by U+FFFD before predicting "
                                              "(pass the input's encoding if it is not UTF-8)"),
                           ("truncated", f"had more tokens than the model reads ({sequence_length}, special tokens "
                                         f"included); each is predicted on what fits, cut as training cut it"
                                         f"{' (longest text first)' if pairs else ''}")):
            flags = getattr(self, flag)
            if flag not in quiet and np.any(flags):
                log.warning("warning: %d of %d %ss %s; flagged %s (first: %s %d)", int(np.sum(flags)),
                            len(flags), unit, what, flag, unit, int(np.argmax(flags)) + 1)


def _check_texts(texts, pairs=False):
    if isinstance(texts, (str, bytes)):
        raise PredictInputError("texts must be a list of strings, got a single string (wrap it in a list)")
    texts = list(texts)
    for i, text in enumerate(texts):
        if pairs:
            if not (isinstance(text, (tuple, list)) and len(text) == 2
                    and all(isinstance(t, (str, bytes)) for t in text)):
                raise PredictInputError(f"text {i}: a sentence-pair model takes (text_a, text_b) pairs of strings, "
                                        f"got {text!r}")
        elif not isinstance(text, (str, bytes)):
            raise PredictInputError(f"text {i} is a {type(text).__name__}, not a string: {text!r}")
    return [tuple(t) for t in texts] if pairs else texts


def predicted_bytes(text):
    """The bytes a text is predicted on: a ``str`` holding invalid bytes as surrogates (``surrogateescape``:
    command-line arguments, UTF-8 input files) turns back into those bytes; other lone surrogates (from JSON
    ``"\\ud800"``) pass as they are. The graph replaces and flags either (``replaced_bytes``)."""
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def shown_text(text):
    """A text as an output row shows it: as predicted, invalid bytes as U+FFFD (``replaced_bytes``)."""
    return predicted_bytes(text).decode("utf-8", "replace")


class _Predictor:
    """Shared batching and progress for both predictor kinds."""

    label_names = ()
    # The output mode (multiclass, binary, multilabel) and the decision threshold (None: the default rule).
    mode = "multiclass"
    threshold = None
    # Whether the model classifies sentence pairs: texts are (text_a, text_b) and _call takes two batches.
    pairs = False
    # The most tokens the model reads (special tokens included); longer texts are cut to it.
    sequence_length = None

    def _call(self, *batch):
        raise NotImplementedError

    def predict(self, texts, *, batch_size=DEFAULT_BATCH_SIZE, progress=False, quiet=()):
        """Predict a list of texts in batches.

        Args:
            texts: strings (or UTF-8 bytes); ``(text_a, text_b)`` pairs for a sentence-pair model.
            batch_size: texts per model call.
            progress: show a progress bar on stderr (where it is a terminal or Jupyter: ``shows_bar``).
            quiet: flags (of ``FLAGS``) not to log a warning for: the caller reports them itself.

        Returns:
            :class:`Predictions`.

        Example:
            >>> predictor = load_predictor("saved_models/reviews")
            >>> predictions = predictor.predict(["a gripping, funny film", "a dull, boring film"])
            >>> predictions.labels, predictions.probabilities.shape
            (['positive', 'negative'], (2, 2))
        """
        from tqdm.auto import tqdm

        from zoo.training.progress import shows_bar

        texts = _check_texts(texts, self.pairs)
        if batch_size < 1:
            raise PredictInputError(f"batch_size (--batch-size) must be a positive integer, got {batch_size}")
        columns = [lambda t, i=i: t[i] for i in range(2)] if self.pairs else [lambda t: t]
        parts = []
        with tqdm(total=len(texts), unit="text", disable=not (progress and shows_bar(sys.stderr)),
                  file=sys.stderr) as bar:
            for start in range(0, len(texts), batch_size):
                chunk = texts[start:start + batch_size]
                batch = [tf.constant([predicted_bytes(column(t)) for t in chunk], tf.string) for column in columns]
                parts.append({k: v.numpy() for k, v in self._call(*batch).items()})
                bar.update(len(chunk))
        if not parts:
            empty = [tf.constant([], tf.string)] * len(columns)
            parts.append({k: v.numpy() for k, v in self._call(*empty).items()})
        merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        predictions = Predictions(
            probabilities=merged["probabilities"],
            label_ids=merged[label_id_output(self.mode)],
            labels=[b.decode("utf-8") for b in merged["label"]],
            label_names=list(self.label_names),
            **{flag: merged[flag] for flag in FLAGS},
            mode=self.mode,
        )
        predictions.warn_flagged(self.sequence_length, self.pairs, quiet)
        return predictions


class InMemoryPredictor(_Predictor):
    """Predict with a Keras model and its tokenizer through the same graph that export saves.

    Args:
        model: a zoo classifier.
        tokenizer: its zoo tokenizer.
        label_names: class names in id order.
        sequence_length: longest id sequence; defaults to the model's position range.
        mode: output mode; read from the model's head by default.
        pairs: the model classifies sentence pairs.
        threshold: the decision threshold (``ServingGraph``).

    Example:
        >>> model, tokenizer, labels, _ = zoo.load_run("runs/reviews")
        >>> InMemoryPredictor(model, tokenizer, labels).predict(["a gripping, funny film"]).labels
        ['positive']
    """

    def __init__(self, model, tokenizer, label_names, sequence_length=None, mode=None, pairs=False, threshold=None):
        self.graph = ServingGraph(model, tokenizer, label_names, sequence_length, mode=mode, pairs=pairs,
                                  threshold=threshold)
        self.mode = self.graph.mode
        self.threshold = self.graph.threshold
        self.label_names = self.graph.label_names
        self.pairs = self.graph.pairs
        self.sequence_length = self.graph.sequence_length

    def _call(self, *batch):
        return self.graph.serve_pairs(*batch) if self.pairs else self.graph.serve_text(*batch)


class SavedModelPredictor(_Predictor):
    """Predict with an exported SavedModel's ``serving_default`` signature.

    Args:
        path: a SavedModel version directory (``saved_models/reviews/1``).

    Example:
        >>> SavedModelPredictor("saved_models/reviews/1").predict(["a gripping, funny film"]).labels
        ['positive']
    """

    def __init__(self, path):
        self.path = Path(path)
        self.metadata = export_metadata(self.path, "classification")
        self._loaded = load_export(self.path, self.metadata)
        self._signature = self._loaded.signatures["serving_default"]
        self.mode = self.metadata.get("mode", "multiclass")
        missing = [name for name in (label_id_output(self.mode), *FLAGS)
                   if name not in self._signature.structured_outputs]
        if missing:
            raise ModelLoadError(f"{self.path} was exported by an older zoo: its serving_default lacks the outputs "
                                 f"{missing}; export the run again (zoo export RUN_DIR)")
        self.label_names = list(self.metadata["label_names"])
        self.threshold = self.metadata.get("threshold")
        self.pairs = bool(self.metadata.get("pairs", False))
        self.sequence_length = self.metadata["sequence_length"]

    def _call(self, *batch):
        return self._signature(**dict(zip(PAIR_COLUMNS, batch))) if self.pairs else self._signature(texts=batch[0])


# What each kind of export holds and the command that reads it (zoo_export.json's task; older exports have none).
EXPORT_READERS = {"classification": ("a classifier", "gives labels", "zoo predict"),
                  "lm": ("an lm run", "generates text", "zoo generate"),
                  "seq2seq": ("a seq2seq run", "generates text", "zoo generate"),
                  "embedding": ("a checkpoint's sentence embedder", "embeds texts", "zoo embed")}


def export_metadata(path, *tasks):
    """The ``zoo_export.json`` of the export at ``path``; ``PredictInputError`` naming the command that reads it
    unless its task is one of ``tasks``."""
    metadata = read_metadata(path)
    task = metadata.get("task", "classification")
    if task not in tasks:
        what, does, command = EXPORT_READERS.get(task, (f"{a_task(task)} model", "is another kind", "another command"))
        raise PredictInputError(f"{path} is the export of {what}: it {does}; `{command} {path} TEXT ...` reads it")
    return metadata


def load_export(path, metadata):
    """``load_saved_model`` of an export, the tensorflow-text kernels its tokenizer needs registered first."""
    if metadata.get("requires_tensorflow_text"):
        import tensorflow_text  # noqa: F401
    return load_saved_model(path)


def generate_with_export(path, texts, *, batch_size=DEFAULT_BATCH_SIZE):
    """Generate with an lm or seq2seq export (``zoo generate saved_models/NAME "text"``): greedily, up to the
    ``max_new_tokens`` it was exported with (``zoo.export.generative``).

    Args:
        path: an export's version directory (``find_saved_model``).
        texts: the prompts (lm) or source texts (seq2seq), a list of strings.
        batch_size: texts per call.

    Returns:
        One dict per text, as ``zoo.evaluation.generate_texts`` gives: ``text`` (as generated from: invalid bytes
        shown as U+FFFD), ``generated``, ``empty_input``, ``replaced_bytes`` and ``truncated``; and
        ``context_full``: generation stopped because the model's positions were full, before the end token and
        before ``max_new_tokens``.

    Example:
        >>> tokenizer = zoo.data.build_tokenizer("word_core", 100).fit(["a gripping film", "a dull film"])
        >>> lm = zoo.build("lm", vocab_size=tokenizer.vocab_size, sequence_length=16)
        >>> result = zoo.export.export_generator(lm, tokenizer, "lm", 16, name="film-lm", max_new_tokens=3)
        >>> rows = generate_with_export(result.path, ["a gripping"])
        >>> sorted(rows[0]), len(rows[0]["generated"].split()) <= 3
        (['context_full', 'empty_input', 'generated', 'replaced_bytes', 'text', 'truncated'], True)
    """
    path = Path(path)
    signature = load_export(path, export_metadata(path, *GENERATIVE_TASKS)).signatures["serving_default"]
    if GENERATED_FLAG not in signature.structured_outputs:
        raise ModelLoadError(f"{path} was exported by an older zoo: its serving_default lacks the output "
                             f"{GENERATED_FLAG!r}; export the run again (zoo export RUN_DIR)")
    rows = []
    for start in range(0, len(texts), batch_size):
        batch = texts[start:start + batch_size]
        out = {key: value.numpy() for key, value in signature(texts=tf.constant(
            [predicted_bytes(text) for text in batch], tf.string)).items()}
        rows += [{"text": shown_text(text), "generated": out["generated"][i].decode("utf-8"),
                  **{flag: bool(out[flag][i]) for flag in (*FLAGS, GENERATED_FLAG)}} for i, text in enumerate(batch)]
    return rows


def check_export_threshold(path, metadata, threshold, fix):
    """Raise ``PredictInputError`` unless ``threshold`` is ``None`` or the one the export at ``path`` (its
    ``zoo_export.json``: ``metadata``) decides by, as it was exported.

    Args:
        path: the export's version directory.
        metadata: its ``zoo_export.json``.
        threshold: the threshold asked for (``--threshold``), or ``None``.
        fix: the command's other way to decide by ``threshold``, e.g. ``"predict with the run directory"``.
    """
    exported = metadata.get("threshold")
    if threshold is not None and threshold != exported:
        rule = "the most probable class" if exported is None else f"threshold {exported:g}"
        raise PredictInputError(f"threshold (--threshold) {threshold:g}: the export {path} decides by {rule}, as it "
                                f"was exported; export the run again with --threshold, or {fix}")


def load_saved_model(path):
    """``tf.saved_model.load``, with damaged files named (TensorFlow says "Read less bytes than requested")."""
    from zoo.training.checkpoints import damaged_file

    try:
        return tf.saved_model.load(str(path))
    except (tf.errors.OpError, IndexError, ValueError, OSError) as err:
        problem = damaged_file(path / "variables" / "variables")
        if problem is None and not isinstance(err, OSError):
            raise
        file, what = problem or (path / "saved_model.pb", f"cannot be read ({err})")
        raise ModelLoadError(f"cannot load the SavedModel {path}: {file} {what}; export the run again "
                             "(zoo export RUN_DIR)") from None


def find_saved_model(path):
    """Return the SavedModel directory ``path`` points at (itself, or its newest version), or ``None``.

    Example:
        >>> find_saved_model("saved_models/reviews")
        PosixPath('saved_models/reviews/1')
        >>> find_saved_model("runs/reviews") is None
        True
    """
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    latest = versions.latest_version_dir(path)
    if latest is not None and (latest / "saved_model.pb").is_file():
        return latest
    return None


def load_predictor(path, *, threshold=None):
    """Open an exported model (a version directory or its model directory) or a training run directory.

    Args:
        path: ``saved_models/<name>[/<n>]`` or a run directory written by ``zoo.train``.
        threshold: a run directory's decision threshold (``ServingGraph``); an export decides with the one it
            was exported with (``zoo export --threshold``), and another is an error.

    Returns:
        A predictor with ``predict(texts)`` and ``label_names``.

    Example:
        >>> load_predictor("runs/reviews").predict(["a gripping, funny film"]).labels
        ['positive']
        >>> type(load_predictor("saved_models/reviews")).__name__
        'SavedModelPredictor'
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model directory not found: {path}")
    saved = find_saved_model(path)
    if saved is not None:
        predictor = SavedModelPredictor(saved)
        check_export_threshold(saved, predictor.metadata, threshold, "predict with the run directory")
        return predictor
    unfinished = versions.unfinished_version(path)
    if unfinished:
        raise FileNotFoundError(unfinished)
    if not (path / "model.json").is_file():
        raise FileNotFoundError(
            f"{path} is neither an exported SavedModel (no saved_model.pb, no numbered version folder) "
            "nor a zoo run directory (no model.json)"
        )
    from zoo.training.run import load_classifier_run

    model, tokenizer, label_names, config, pairs = load_classifier_run(path, "predict labels")
    return InMemoryPredictor(model, tokenizer, label_names, config.data.sequence_length, pairs=pairs,
                             threshold=threshold)


def _errors(encoding):
    """UTF-8 input keeps invalid bytes (as surrogates, see ``_utf8``) for the graph to replace and flag, as the
    SavedModel does; in any other encoding an undecodable byte means a wrong ``encoding=``, an error."""
    return "surrogateescape" if codecs.lookup(encoding).name == "utf-8" else "strict"


def _content(raw, path, encoding):
    """The bytes ``raw`` of file ``path`` decoded, without a UTF-8 byte-order mark (Excel writes one; zoo.data drops
    it too).

    Decoded whole, then split: in UTF-16 a newline is two bytes (0x0A 0x00), so the bytes cannot be split first.
    Without an ``encoding``, a UTF-16 or UTF-32 byte-order mark decides it, else UTF-8, as in ``zoo.data.load``;
    there, as in ``zoo.data.load``, a NUL byte is refused as UTF-16 or UTF-32 without its mark.
    """
    unmarked = None if encoding or bom_encoding(raw) else unmarked_wide_encoding(raw)
    if unmarked:
        line = raw.count(b"\n", 0, unmarked[0]) + 1
        raise PredictInputError(f"{path}:{line}: {unmarked_wide_hint(unmarked[1])} (--encoding)")
    encoding = encoding or bom_encoding(raw) or "utf-8"
    try:
        content = raw.decode(encoding, _errors(encoding))
    except UnicodeDecodeError as err:
        line = raw[: err.start].decode(encoding, "replace").count("\n") + 1
        raise PredictInputError(
            f"{path}:{line}: cannot decode as {encoding} ({err.reason} at byte {err.start}); pass encoding= "
            "(--encoding)"
        ) from None
    return content.removeprefix("\ufeff")


def read_texts(path, *, text_field=None, encoding=None, pairs=False):
    """Read the texts to predict from ``.txt`` (one per line), ``.csv``/``.tsv``, ``.jsonl`` or ``.parquet`` files.

    Args:
        path: the input file; ``-`` reads standard input, one text per line (as a ``.txt`` file). Any but a
            parquet file may be compressed (``COMPRESSIONS``: ``texts.csv.gz``).
        text_field: the column (CSV/TSV with a header row, parquet) or key (JSONL) holding the text (default
            ``text``); for pairs, the two as ``"A,B"`` (default ``text_a,text_b``).
        encoding: the file's text encoding; None: UTF-16 or UTF-32 if the file starts with its byte-order mark
            (Excel's "Unicode Text"), else UTF-8 (a NUL byte is then an error naming the encoding to pass).
        pairs: read sentence pairs from two columns or keys (``text_field``; not from ``.txt``).

    Returns:
        The list of texts (``(text_a, text_b)`` tuples for pairs), in file order.

    Example:
        >>> _ = Path("reviews.csv").write_text("id,review\\n1,A gripping film.\\n2,A dull film.\\n")
        >>> read_texts("reviews.csv", text_field="review")
        ['A gripping film.', 'A dull film.']
    """
    return read_rows(path, text_field=text_field, encoding=encoding, pairs=pairs).texts


class InputRows(NamedTuple):
    """What ``read_rows`` reads: the texts, and each row's other columns or keys (an id, say) by name."""

    texts: list
    columns: list


def read_rows(path, *, text_field=None, encoding=None, pairs=False, header=True, purpose="predict"):
    """Read the texts to predict as ``read_texts`` does, with the other columns (CSV/TSV, parquet) or keys (JSONL)
    of each row, which ``zoo predict`` and ``zoo generate`` carry to their output (``with_input_columns``).

    Args:
        header: whether a CSV/TSV file starts with a header row; ``False`` reads it as a run trained with
            ``data.load_options.header: false`` read its files: ``text_field`` then gives column indices from 0
            (``"0"``; a pair's ``"0,1"``), and the other columns are carried under their indices.
        purpose: what the texts are read for, in the error for a file without any (``"embed"``).
        The others as ``read_texts``.

    Returns:
        ``InputRows``: ``columns[i]`` maps the other column names of row ``i`` to their values (strings from CSV
        and TSV, JSON values from JSONL and parquet; ``{}`` for ``.txt``), in the file's order.

    Example:
        >>> _ = Path("reviews.csv").write_text("id,review\\n1,A gripping film.\\n2,A dull film.\\n")
        >>> read_rows("reviews.csv", text_field="review").columns
        [{'id': '1'}, {'id': '2'}]
    """
    stdin = str(path) == STDIN
    path = Path(STDIN_NAME if stdin else path)
    if not stdin and not path.is_file():
        raise FileNotFoundError(f"input file not found: {path}")
    try:
        codecs.lookup(encoding or "utf-8")
    except LookupError:
        raise PredictInputError(f"unknown encoding {encoding!r} for {path}") from None
    suffix = ".txt" if stdin else format_suffix(path)
    if suffix not in INPUT_SUFFIXES:
        raise PredictInputError(f"{path}: unsupported input type {suffix!r}; use one of {', '.join(INPUT_SUFFIXES)} "
                                f"(all but {INPUT_SUFFIXES[-1]} may be compressed: {', '.join(COMPRESSIONS)})")
    if pairs:
        # Training reads a pair's columns by any names (load_options.text_column): so does prediction.
        fields = list(PAIR_COLUMNS) if text_field is None else text_field.split(",")
        if len(fields) != len(PAIR_COLUMNS):
            raise PredictInputError(f"{path}: text_field (--text-field) {text_field!r} names {len(fields)} "
                                    f"column{'s' if len(fields) > 1 else ''}; a sentence-pair model reads two, named "
                                    f"A,B (default: {','.join(PAIR_COLUMNS)})")
        fix = (f"a sentence-pair model reads the {' and '.join(PAIR_COLUMNS)} columns: name yours with text_field "
               "(--text-field) A,B")
    else:
        fields = ["text" if text_field is None else text_field]
        fix = "name the texts' column with text_field (--text-field)"
    lines_of = "standard input" if stdin else "a .txt file"
    if pairs and suffix == ".txt":
        raise PredictInputError(f"{path}: a sentence-pair model reads {_COLUMN_INPUTS} files with "
                                f"{' and '.join(fields)} columns, not {lines_of}")
    if suffix == ".txt" and text_field not in (None, "text"):
        # A .txt file has no columns: the field would be ignored, and a header line predicted as a text.
        raise PredictInputError(f"{path}: text_field={text_field!r} names a column, but {lines_of} holds one text "
                                f"per line; give a {_COLUMN_INPUTS} file, or leave text_field (--text-field) out")
    if suffix == ".parquet" and encoding is not None:
        # As zoo.data.load: the strings of a parquet file are UTF-8 by its format, whatever encoding says.
        raise PredictInputError(f"{path}: encoding={encoding!r} (--encoding) decodes text files, but a parquet file's "
                                "strings are already decoded; leave --encoding out")
    texts, columns = [], []
    if suffix == ".parquet":
        texts, columns = _parquet_input(path, fields, pairs, fix)
    else:
        try:
            raw = sys.stdin.buffer.read() if stdin else read_bytes(path)
        except DataError as err:  # a compressed file that does not decompress
            raise PredictInputError(str(err)) from None
        lines = split_lines(_content(raw, path, encoding))
    if suffix == ".txt":
        # Every line is one text, a blank one too: it is predicted and flagged empty_input, as the SavedModel
        # flags an empty text, so the predictions stay line for line with the file.
        texts = lines
        columns = [{} for _ in texts]
    elif suffix == ".jsonl":
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line, object_pairs_hook=JsonRecord)
            except json.JSONDecodeError as err:
                raise PredictInputError(f"{path}:{number}: not valid JSON: {err.msg}") from None
            for field in fields:
                if not isinstance(row, dict) or field not in row:
                    raise PredictInputError(f"{path}:{number}: no {field!r} field; {fix}")
                if field in row.repeated:  # json keeps the last value: which one is the text is unknown
                    raise PredictInputError(f"{path}:{number}: field {field!r} appears more than once; keep one")
                _check_text_value(row[field], f"{path}:{number}: field {field!r}", fix)
            # A null text is a missing one, read as an empty CSV cell is: predicted and flagged empty_input.
            values = ["" if row[f] is None else row[f] for f in fields]
            texts.append(tuple(values) if pairs else values[0])
            columns.append({key: value for key, value in row.items() if key not in fields})
    elif suffix in (".csv", ".tsv"):
        # Records are read as zoo.data reads a training or evaluation file, so a text is predicted as it would be
        # scored: TSV has no quoting (a '"' is text), CSV quotes strictly (an unbalanced quote is an error, not
        # the rest of the file read as one text).
        try:
            records = list(delimited_records(lines, suffix[1:], path))
        except DataError as err:  # an unbalanced quote
            raise PredictInputError(str(err)) from None
        names = None  # the header's column names; without a header row, the first row's column indices
        if not header:
            indices = [_column_index(field, path, fields) for field in fields]
        for number, row in records:
            if isinstance(row, DataError):
                raise PredictInputError(str(row))
            if not row:
                continue
            if names is None and header:
                names = header_names(row)
                missing = [field for field in fields if field not in names]
                if missing:
                    # A header-less run's files are read by index; a file with a header by its names.
                    index = (" (a column index reads a file without a header row only, as a run trained with "
                             "data.load_options.header: false reads its files)") if missing[0].isdecimal() else ""
                    raise PredictInputError(f"{path}: no column {missing[0]!r} in the header; {fix}{index}; "
                                            f"columns: {', '.join(names)}")
                try:  # a column named twice: which one holds the text is unknown
                    indices = [resolve_column(field, names, path, role, number, by_index=False)
                               for field, role in zip(fields, TEXT_ROLES)]
                except DataError as err:
                    raise PredictInputError(str(err)) from None
                continue
            if names is None:
                names = [str(j) for j in range(len(row))]
            if len(row) > len(names):
                # A stray delimiter: the text would be cut short at it and the rest of the row dropped.
                raise PredictInputError(f"{path}:{number}: row has {len(row)} fields but the "
                                        f"{'header' if header else 'first row'} has {len(names)}; a delimiter inside "
                                        "a text must be quoted (CSV) or removed (TSV)")
            values = []
            for field, index in zip(fields, indices):
                if index >= len(row):
                    missing = f"no {field!r} value" if header else f"{len(row)} field(s), none at index {index}"
                    raise PredictInputError(f"{path}:{number}: row has {missing}")
                values.append(row[index])
            texts.append(tuple(values) if pairs else values[0])
            columns.append({name: value for j, (name, value) in enumerate(zip(names, row)) if j not in indices})
    if not texts:
        raise PredictInputError(f"{path}: no texts to {purpose}")
    return InputRows(texts, columns)


def _column_index(field, path, fields):
    """The column index ``field`` (``"0"``) of a file read without a header row, or ``PredictInputError``."""
    if field.isdecimal() and field.isascii():
        return int(field)
    example = ",".join(str(j) for j in range(len(fields)))
    raise PredictInputError(f"{path}: text_field (--text-field) {','.join(fields)!r} is not a column index, but the "
                            "file is read without a header row (as a run trained with data.load_options.header: false "
                            f"reads its files): give the column indices from 0 instead, e.g. --text-field {example}")


def _check_text_value(value, where, fix):
    """Raise ``PredictInputError`` unless ``value``, a JSON or parquet text, is a string or null (a missing text).

    A number or other value is refused rather than read as its digits: where a text is expected it more likely
    means the key or column named is not the texts' (an id), and predicting on its digits would hide that."""
    if value is None or isinstance(value, str):
        return
    shown = json.dumps(value, ensure_ascii=False, default=str)
    raise PredictInputError(f"{where} is {shown[:80]} ({type(value).__name__}), not a string: {fix}, or, if it is "
                            f"the text, write it as a string (\"{shown[:40]}\")")


def _parquet_input(path, fields, pairs, fix):
    """``read_rows``'s texts and other columns of a parquet file, read as ``zoo.data.load`` reads one."""
    try:
        parquet = open_parquet(path)
        names = parquet.schema_arrow.names
        for field in fields:
            count = names.count(field)
            if not count:
                raise PredictInputError(f"{path}: no column {field!r}; {fix}; columns: {', '.join(names)}")
            if count > 1:  # pyarrow would read the last of them, silently
                raise PredictInputError(f"{path}: column {field!r} is named {count} times; rename the others")
        classes = {name: class_label_names(parquet.schema_arrow, name) for name in names if name not in fields}
        texts, columns = [], []
        for number, row in parquet_rows(parquet, path):
            for field in fields:
                _check_text_value(row[field], f"{path}, row {number}: column {field!r}", fix)
            values = ["" if row[f] is None else row[f] for f in fields]  # null: as in a JSONL file
            texts.append(tuple(values) if pairs else values[0])
            # Parquet holds dates, decimals and bytes, which JSON (the output) has no type for: they carry as text.
            columns.append(json.loads(json.dumps({k: _class_name(v, classes[k]) if classes[k] else v
                                                  for k, v in row.items() if k not in fields}, default=str)))
    except DataError as err:
        raise PredictInputError(str(err)) from None
    return texts, columns


def _class_name(value, names):
    """A Hugging Face ``ClassLabel`` id (or list of ids) as its class name, so that an input label carried to the
    output reads as the predicted one does; -1, Hugging Face's unlabelled row, as None."""
    if isinstance(value, list):
        return [_class_name(v, names) for v in value]
    return names[value] if isinstance(value, int) and 0 <= value < len(names) else None if value == -1 else value


def with_input_columns(records, columns, taken=()):
    """``records`` each after its input row's other ``columns``: under their names, or ``input_<name>`` where the
    records have that key or ``taken`` holds it (an input ``label`` beside the predicted ``label``). A name is
    renamed alike in every row, so each output column means one thing.

    Example:
        >>> with_input_columns([{"text": "a film", "label": "positive"}], [{"id": "7", "label": "negative"}])
        [{'id': '7', 'input_label': 'negative', 'text': 'a film', 'label': 'positive'}]
    """
    taken = {*taken, *(records[0] if records else ())}
    names = {}
    for row in columns:
        for name in row:
            if name not in names:
                key = name
                while key in taken or key in names.values():
                    key = f"input_{key}"
                names[name] = key
    return [{**{names[name]: value for name, value in row.items()}, **record} for record, row in zip(records, columns)]


def check_output_path(path, input_path=None):
    """Raise unless predictions can be written to ``path``: a ``.jsonl``, ``.csv`` or ``.parquet`` file whose
    directory exists or can be created, other than the ``input_path`` file of the texts. Cheap: commands call it
    before loading the model.

    Raises:
        PredictInputError: another file type, or the input file itself (writing would replace the texts).
        zoo.paths.OutputPathError: ``path`` is a directory, or its directory cannot be created.

    Example:
        >>> check_output_path("preds.txt")
        Traceback (most recent call last):
            ...
        zoo.export.predict.PredictInputError: preds.txt: unsupported output type '.txt'; use one of .jsonl, .csv,
        .parquet
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise PredictInputError(f"{path}: unsupported output type {suffix!r}; use one of {', '.join(OUTPUT_SUFFIXES)}")
    if input_path is not None and path.resolve() == Path(input_path).resolve():
        raise PredictInputError(f"{path}: the output is the input file, which writing the predictions would replace; "
                                "write them to another file")
    check_output(path, OUTPUT_FIX, is_file=True)


def write_predictions(path, texts, predictions, columns=None):
    """Write predictions as ``.jsonl`` (one object per text), or ``.csv`` or ``.parquet`` (a column per class's
    probability, ``p_<label>``); returns the path.

    Args:
        path: the ``.jsonl``, ``.csv`` or ``.parquet`` file to write.
        texts: the texts predicted.
        predictions: their ``Predictions``.
        columns: each text's other input columns (``read_rows``), written first in each row
            (``with_input_columns``; a CSV leaves a column blank in rows without it and writes JSON values as JSON).

    Example:
        >>> texts = ["a gripping, funny film", "a dull, boring film"]
        >>> write_predictions("preds.csv", texts, load_predictor("saved_models/reviews").predict(texts))
        PosixPath('preds.csv')
        >>> Path("preds.csv").read_text().splitlines()[0]
        'text,label,label_id,p_negative,p_positive,empty_input,replaced_bytes,truncated'
    """
    records = predictions.records(texts)
    columns = columns or [{} for _ in records]
    if Path(path).suffix.lower() == ".jsonl":
        return write_rows(path, with_input_columns(records, columns))
    names = list(predictions.label_names)
    ids = label_id_output(predictions.mode)
    outputs = ["label", ids, *[f"p_{n}" for n in names], *FLAGS]
    rows = [{**{key: value for key, value in record.items() if key not in ("probabilities", *outputs)},
             "label": record["label"], ids: record[ids],
             **{f"p_{n}": record["probabilities"][n] for n in names},
             **{flag: record[flag] for flag in FLAGS}} for record in records]
    own = list(rows[0]) if rows else ["text", *outputs]
    rows = with_input_columns(rows, columns, own)
    # Every carried column first, then the text and the prediction's columns.
    return write_rows(path, rows, [*dict.fromkeys(key for row in rows for key in row if key not in own), *own])


def write_rows(path, rows, header=None):
    """Write JSON-ready dicts as ``.jsonl`` (one object per line), ``.csv`` (a column per key of ``header``,
    default every key in order of first appearance; a cell blank where a row lacks the key, a list or mapping as
    JSON) or ``.parquet`` (the same columns, typed: a mapping a struct, a missing value null); returns the path.

    Example:
        >>> write_rows("generated.csv", [{"text": "a b", "generated": "b a", "empty_input": False}])
        PosixPath('generated.csv')
        >>> Path("generated.csv").read_text().splitlines()
        ['text,generated,empty_input', 'a b,b a,False']
    """
    path = Path(path)
    check_output_path(path)
    header = header or list(dict.fromkeys(key for row in rows for key in row))
    with output_errors(path, OUTPUT_FIX):
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".parquet":
            _write_parquet(path, rows, header)
            return path
        with open(path, "w", encoding="utf-8", newline="") as f:
            if path.suffix.lower() == ".jsonl":
                f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
                return path
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows([_csv_value(row.get(key, "")) for key in header] for row in rows)
    return path


def _write_parquet(path, rows, header):
    """Write ``rows`` as a parquet table of the ``header`` columns; a column whose values pyarrow cannot give one
    type (an input column of numbers and texts) is a ``PredictInputError`` naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {}
    for key in header:
        values = [row.get(key) for row in rows]
        try:
            columns[key] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise PredictInputError(f"{path}: column {key!r} holds values of several types ({error}), which a parquet "
                                    "column cannot; write .jsonl or .csv instead") from None
    pq.write_table(pa.table(columns), path)


def _csv_value(value):
    """A CSV cell: strings and numbers as they are, JSON values (lists, objects, null) as JSON."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) or value is None else value


def predict(model_dir, texts, *, batch_size=DEFAULT_BATCH_SIZE, threshold=None):
    """Predict labels for a few texts with an exported model or a run directory.

    Args:
        model_dir: ``saved_models/<name>[/<n>]`` or a run directory.
        texts: the texts; ``(text_a, text_b)`` pairs for a sentence-pair model.
        batch_size: texts per model call.
        threshold: a run directory's decision threshold (``load_predictor``).

    Returns:
        One dict per text: ``text`` (or ``text_a``, ``text_b``), ``label``, ``label_id`` (multi-label: ``label_ids``,
        multi-hot) and ``probabilities`` by label name, as ``Predictions.records`` gives them.

    Example:
        >>> [row["label"] for row in predict("saved_models/reviews", ["a gripping, funny film", "a dull, boring film"])]
        ['positive', 'negative']
    """
    predictor = load_predictor(model_dir, threshold=threshold)
    texts = _check_texts(texts, predictor.pairs)
    return predictor.predict(texts, batch_size=batch_size).records(texts)


def predict_file(model_dir, input_path, output_path, *, text_field=None, encoding=None,
                 batch_size=DEFAULT_BATCH_SIZE, progress=True, threshold=None):
    """Predict every text of a file and write the predictions, with a progress bar.

    Args:
        model_dir: ``saved_models/<name>[/<n>]`` or a run directory.
        input_path: ``.txt``, ``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet`` input (``read_texts``).
        output_path: ``.jsonl`` or ``.csv`` output.
        text_field: the text column / key of CSV, TSV, JSONL and parquet inputs (``read_texts``).
        encoding: the input's encoding; None: from its UTF-16 or UTF-32 byte-order mark, else UTF-8.
        batch_size: texts per model call.
        progress: show a progress bar on stderr.
        threshold: a run directory's decision threshold (``load_predictor``).

    Returns:
        The number of texts predicted.

    Example:
        >>> _ = Path("reviews.txt").write_text("A gripping, funny film.\\nA dull, boring film.\\n")
        >>> predict_file("saved_models/reviews", "reviews.txt", "preds.jsonl")
        2
        >>> [json.loads(line)["label"] for line in Path("preds.jsonl").read_text().splitlines()]
        ['positive', 'negative']
    """
    check_output_path(output_path, input_path)
    predictor = load_predictor(model_dir, threshold=threshold)
    rows = read_rows(input_path, text_field=text_field, encoding=encoding, pairs=predictor.pairs)
    predictions = predictor.predict(rows.texts, batch_size=batch_size, progress=progress)
    write_predictions(output_path, rows.texts, predictions, rows.columns)
    return len(rows.texts)
