"""Errors users can cause with their data: each says what was wrong and where (file, line, column)."""


def _where(path, line, column, unit):
    parts = []
    if path is not None:
        parts.append(str(path))
    if line is not None:
        parts.append(f"{unit} {line}")
    if column is not None:
        parts.append(f"column {column!r}" if isinstance(column, str) else f"column {column}")
    return ", ".join(parts) + ": " if parts else ""


class DataError(ValueError):
    """Bad input data or options; ``path``, ``line`` and ``column`` say where, when known.

    ``unit`` names what ``line`` counts (``line``, or ``record`` for tfds, ``example`` for in-memory data).
    ``options`` names the ``zoo.data.load`` keyword arguments that the message's fix sets, so that a caller who
    passes them under other names (a run config's ``data.load_options``, a command's flags) can name its own.
    """

    def __init__(self, message, *, path=None, line=None, column=None, unit="line", options=()):
        self.path = None if path is None else str(path)
        self.line = line
        self.column = column
        self.reason = message
        self.options = tuple(options)
        super().__init__(_where(self.path, line, column, unit) + message)


class DataSpecError(DataError):
    """A data source spec or loader option that zoo cannot use (unknown format, layout, option value)."""


class EncodingError(DataError):
    """Bytes that do not decode with the file's encoding."""


class EmptyDataError(DataError):
    """A file or source with no examples in it."""


class EmptyClassError(EmptyDataError):
    """A class (folder or file) with zero examples."""


class MissingColumnError(DataError):
    """A text or label column (CSV header name, JSON key, index) that the file does not have."""


class BadRowError(DataError):
    """One row that cannot be an example: a missing or empty field, malformed JSON or TREC line."""


class UnseenLabelError(DataError):
    """A label that is not in the label vocabulary (e.g. a validation label never seen in training)."""


class VocabularyError(DataError):
    """A vocabulary that cannot work: too small for the reserved tokens, or a malformed vocabulary file."""


class DataFileNotFoundError(FileNotFoundError):
    """A data file, directory or prepared tfds data set that does not exist where zoo was told to look.

    ``options``: as ``DataError``'s, the ``zoo.data.load`` arguments that the message's fix sets.
    """

    def __init__(self, message, *, path=None, options=()):
        self.path = None if path is None else str(path)
        self.options = tuple(options)
        super().__init__(message)

    def __str__(self):
        return self.args[0]


class TooFewClassesError(DataError):
    """Labelled data with fewer than 2 classes: nothing for a classifier to tell apart."""
