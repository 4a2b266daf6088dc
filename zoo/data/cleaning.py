"""Text normalisation as TensorFlow ops, so the same cleaning runs in ``tf.data`` and inside a SavedModel.

Only Unicode normalisation needs tensorflow-text (``normalize_utf8``); everything else is a core
``tf.strings`` op, so a tokenizer with ``normalization=None`` loads in stock TensorFlow Serving.
"""
import dataclasses
import re
import unicodedata

import tensorflow as tf

from zoo.data.errors import DataSpecError
from zoo.data.spaces import OTHER_SPACE

NORMALIZATION_FORMS = ("NFC", "NFKC", "NFD", "NFKD")
# A tag opens with a letter, "/" (end tag), "!" (comment, doctype) or "?", as HTML parsers read "<": text such as
# "i <3 it -> 10/10" or "x < 5 and y > 2" holds no tag, and is kept.
_HTML_TAG = r"<[A-Za-z/!?][^<>]*>"
# Entities left once tags are gone (IMDB has <br /> and &amp;); tags are stripped first so an escaped
# "&lt;b&gt;" survives as the text "<b>".
_HTML_ENTITIES = (("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"),
                  ("&apos;", "'"), ("&amp;", "&"))
_ANY_ENTITY = r"(?s).*&(?:nbsp|lt|gt|quot|#39|apos|amp);.*"
# A character that cannot be part of a word (Python's Unicode \W). RE2's \b knows only ASCII word characters,
# so "Amélie" would hold the word "am"; RE2 has no lookaround, so the neighbours are matched and put back.
_NON_WORD = r"[^\p{L}\p{N}_]"


@dataclasses.dataclass(frozen=True)
class CleaningConfig:
    """Which normalisation steps a tokenizer applies before splitting, in this order.

    Args:
        normalization: Unicode normalisation form (``"NFKC"``, ``"NFC"``, ``"NFD"``, ``"NFKD"``) or ``None``;
            any form needs tensorflow-text ops at serving time.
        strip_html: Replace HTML tags with a space and decode the common entities.
        lowercase: Unicode-aware lower-casing.
        remove_stopwords: Drop stop words (whole words, matched after lower-casing).
        stopwords: The stop-word list, for ``remove_stopwords``, normalised and lower-cased as the text is
            (``resolved_stopwords``); ``None`` uses scikit-learn's ``ENGLISH_STOP_WORDS``.

    Whitespace runs (including Unicode spaces, but not U+0085) always collapse to one space; ends are trimmed.

    Example:
        >>> config = CleaningConfig(normalization=None, remove_stopwords=True)
        >>> clean(tf.constant(["This is a GREAT film"]), config).numpy()
        array([b'great film'], dtype=object)
    """

    normalization: str = "NFKC"
    strip_html: bool = True
    lowercase: bool = True
    remove_stopwords: bool = False
    stopwords: tuple = None

    def __post_init__(self):
        if self.normalization is not None and self.normalization not in NORMALIZATION_FORMS:
            raise DataSpecError(
                f"cleaning.normalization must be one of {', '.join(NORMALIZATION_FORMS)} or None, "
                f"not {self.normalization!r}")
        for name in ("strip_html", "lowercase", "remove_stopwords"):
            if not isinstance(getattr(self, name), bool):
                raise DataSpecError(f"cleaning.{name} must be true or false, not {getattr(self, name)!r}")
        if self.stopwords is not None:
            # Not any iterable: the string "the" would be the stop words "t", "h" and "e".
            if not isinstance(self.stopwords, (list, tuple, set, frozenset)):
                raise DataSpecError(f"cleaning.stopwords must be a list of words, not {self.stopwords!r}")
            words = tuple(str(w) for w in self.stopwords)
            bad = [w for w in words if not w or re.search(r"\s", w)]
            if bad:
                raise DataSpecError(f"cleaning.stopwords must be single words; bad entries: {bad[:5]}")
            object.__setattr__(self, "stopwords", words)
            if not words:
                # An empty pattern would match between any two non-word characters and space them out.
                raise DataSpecError("cleaning.stopwords is empty, so remove_stopwords would remove nothing; list "
                                    "the words, or leave stopwords unset for scikit-learn's English list")
            if not self.remove_stopwords:
                raise DataSpecError("cleaning.stopwords is set but cleaning.remove_stopwords is false, so no word "
                                    "would be removed; set remove_stopwords to true, or drop the stopwords list")

    @property
    def core_ops_only(self):
        """Whether cleaning uses only core TensorFlow ops (no tensorflow-text)."""
        return self.normalization is None

    def resolved_stopwords(self):
        """The stop words in use, sorted (scikit-learn's English list when none were given).

        They are matched in the text as the earlier steps leave it, so they go through the same Unicode
        normalisation and lower-casing: ``"The"`` removes "the" from lower-cased text, ``"ﬁlm"`` "film" after NFKC.

        Example:
            >>> CleaningConfig(remove_stopwords=True, stopwords=["The", "ﬁlm"]).resolved_stopwords()
            ('film', 'the')
        """
        if self.stopwords is None:
            from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

            return tuple(sorted(ENGLISH_STOP_WORDS))
        words = self.stopwords
        if self.normalization is not None:
            words = [unicodedata.normalize(self.normalization, word) for word in words]
        if self.lowercase:
            words = [word.lower() for word in words]
        return tuple(sorted(set(words)))

    def to_dict(self):
        """Plain dict for JSON/YAML; the stop-word list is written out so a reload cannot drift."""
        out = dataclasses.asdict(self)
        out["stopwords"] = list(self.resolved_stopwords()) if self.remove_stopwords else None
        return out

    @classmethod
    def from_dict(cls, values):
        """Inverse of ``to_dict``; unknown keys are an error naming them."""
        values = dict(values or {})
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise DataSpecError(f"unknown cleaning option(s) {unknown}")
        return cls(**values)


def _stopword_pattern(config):
    """A stop word between groups 1 and 2: the characters either side, non-word characters or the ends."""
    words = sorted(config.resolved_stopwords(), key=lambda w: (-len(w), w))
    flags = "" if config.lowercase else "(?i)"
    return flags + "(^|" + _NON_WORD + ")(?:" + "|".join(re.escape(w) for w in words) + ")($|" + _NON_WORD + ")"


def clean(strings, config=None):
    """Normalise a ``tf.string`` tensor of any shape with TensorFlow ops (works in graph and eager mode).

    Args:
        strings: ``tf.string`` tensor, or anything convertible to one.
        config: A ``CleaningConfig``; defaults to ``CleaningConfig()``.

    Example:
        >>> clean(tf.constant(["A <br />GREAT film&amp;more"])).numpy()
        array([b'a great film&more'], dtype=object)
    """
    config = config or CleaningConfig()
    strings = tf.convert_to_tensor(strings, dtype=tf.string)
    if config.normalization is not None:
        import tensorflow_text as tf_text

        strings = tf_text.normalize_utf8(strings, config.normalization)
    if config.strip_html:
        strings = tf.strings.regex_replace(strings, _HTML_TAG, " ")
        # One scan decides whether the seven entity replacements are needed at all.
        strings = tf.cond(tf.reduce_any(tf.strings.regex_full_match(strings, _ANY_ENTITY)),
                          lambda: _decode_entities(strings), lambda: strings)
    if config.lowercase:
        strings = tf.strings.lower(strings, encoding="utf-8")
    if config.remove_stopwords:
        # A match takes the character after the word, so of "is a" only "is" goes in one pass; the second
        # pass finds every stop word left (each then has its own neighbours).
        pattern = _stopword_pattern(config)
        for _ in range(2):
            strings = tf.strings.regex_replace(strings, pattern, r"\1 \2")
    # A global replace costs per match, so single spaces are never matched: the other spaces first, then runs of
    # two or more spaces. This is 10x faster than replacing [\s\p{Z}]+ on MR.
    strings = tf.strings.regex_replace(strings, OTHER_SPACE, " ")
    strings = tf.strings.regex_replace(strings, "  +", " ")
    return tf.strings.strip(strings)


def _decode_entities(strings):
    for entity, text in _HTML_ENTITIES:
        strings = tf.strings.regex_replace(strings, re.escape(entity), text)
    return strings
