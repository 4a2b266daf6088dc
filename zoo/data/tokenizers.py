"""Tokenizers learned from training texts: WordPiece, word, character and SentencePiece.

Every tokenizer is a ``tf.Module`` that cleans (``zoo.data.cleaning``) and tokenises with TensorFlow and
tensorflow-text ops, so one object gives the same ids in ``tf.data``, in a ``tf.function`` with a
``tf.string`` input signature, and inside a SavedModel (its lookup tables and models are tracked
resources). Every tokenizer knows its special tokens (``special_tokens``, ``special_ids``, ``pad_id`` ...);
the tokenizers here learn their vocabulary and put ``[PAD] [UNK] [CLS] [SEP] [MASK]`` at ids 0-4.
"""
import collections
import dataclasses
import inspect
import io
import json
import logging
import math
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo.data.cleaning import CleaningConfig, clean
from zoo.data.errors import DataFileNotFoundError, DataSpecError, EmptyDataError, VocabularyError
from zoo.data.labeled import save_label_names, text_list
from zoo.data.special_tokens import LEARNED_IDS, SPECIAL_TOKENS, SpecialIds

log = logging.getLogger(__name__)

# The first ids of a learned vocabulary (see zoo.data.special_tokens).
RESERVED_TOKENS = tuple(SPECIAL_TOKENS.values())
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = dataclasses.astuple(LEARNED_IDS)
CONFIG_FILE = "tokenizer.json"
FORMAT_VERSION = 1
# One token in the default word split: a run of letters/digits, or a single punctuation mark or symbol.
_PUNCTUATION = r"([\pP\pS])"
_FIT_BATCH = 1024
# The SentencePiece trainer's default max_sentence_length, in bytes.
_SENTENCEPIECE_MAX_SENTENCE = 4192
# Cleaning can leave nothing to learn from (e.g. texts of HTML tags or stop words only).
_ALL_EMPTY = ("every training text is empty after cleaning: check the text column, and the cleaning options "
              "strip_html and remove_stopwords")


def _strings_dataset(texts, cleaning):
    if not texts:
        raise EmptyDataError("cannot fit a tokenizer on zero texts")
    # Cleaning branches on Python values only: autograph would add only tracing time (as in every map here).
    return tf.data.Dataset.from_tensor_slices(tf.constant(texts, tf.string)).batch(_FIT_BATCH).map(
        tf.autograph.experimental.do_not_convert(lambda s: clean(s, cleaning)), num_parallel_calls=tf.data.AUTOTUNE)


def _check_vocab_size(vocab_size):
    minimum = len(RESERVED_TOKENS) + 1
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)):
        raise VocabularyError(f"vocab_size must be an integer, not {vocab_size!r}", options=("vocab_size",))
    if vocab_size < minimum:
        raise VocabularyError(
            f"vocab_size={vocab_size} is too small: the {len(RESERVED_TOKENS)} reserved tokens "
            f"{', '.join(RESERVED_TOKENS)} take ids 0-{len(RESERVED_TOKENS) - 1}, so it must be at least {minimum}",
            options=("vocab_size",))
    return int(vocab_size)


def check_vocabulary(vocabulary, path=None, special_tokens=None):
    """Check that no token is empty or repeated and the ``special_tokens`` are present; errors name file and line.

    Args:
        vocabulary: Tokens in id order.
        path: The vocabulary file, for errors.
        special_tokens: ``{role: token}`` that must be in it.

    Example:
        >>> check_vocabulary(["[PAD]", "[UNK]", "film"], special_tokens={"pad": "[PAD]"})
        ['[PAD]', '[UNK]', 'film']
    """
    seen = {}
    for i, token in enumerate(vocabulary):
        if token == "":
            raise VocabularyError(f"empty token at id {i}", path=path, line=i + 1)
        if token in seen:
            raise VocabularyError(f"token {token!r} at id {i} repeats id {seen[token]}", path=path, line=i + 1)
        seen[token] = i
    missing = [t for t in (special_tokens or {}).values() if t not in seen]
    if missing:
        raise VocabularyError(f"special token(s) {missing} not in the vocabulary", path=path)
    return vocabulary


def read_json(path, kind, what):
    """The JSON value of a tokenizer file, of Python type ``kind`` (``list``, ``dict``).

    Args:
        path: the file.
        kind: the type its value must have.
        what: what it holds, for the error (``"list of tokens"``).

    Raises:
        VocabularyError: not UTF-8 JSON, or not a ``kind``, naming the file and ``what``.

    Example:
        >>> _ = Path("tokens.json").write_text('["a", "b"]')
        >>> read_json(Path("tokens.json"), list, "list of tokens")
        ['a', 'b']
    """
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise VocabularyError(f"not a JSON {what} ({error})", path=path) from None
    if not isinstance(value, kind):
        raise VocabularyError(f"not a JSON {what}: its value is a {type(value).__name__}", path=path)
    return value


def read_vocabulary(path, special_tokens=None):
    """Tokens of a vocabulary file (one per line, id order), checked by ``check_vocabulary``.

    Args:
        path: The vocabulary file.
        special_tokens: ``{role: token}`` that must be in it.

    Example:
        >>> read_vocabulary("checkpoints/all-MiniLM-L6-v2/vocab.txt")[101]
        '[CLS]'
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileNotFoundError(f"{path}: vocabulary file not found", path=path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as error:
        raise VocabularyError(f"vocabulary file is not UTF-8 ({error.reason})", path=path) from None
    if lines and lines[-1] == "":
        lines.pop()
    return check_vocabulary(lines, path, special_tokens)


def _check_reserved_first(vocabulary, path=None):
    """The reserved tokens at ids 0-4, where the tokenizers here learn them; errors name the file and line."""
    for i, token in enumerate(RESERVED_TOKENS):
        if i >= len(vocabulary) or vocabulary[i] != token:
            found = vocabulary[i] if i < len(vocabulary) else "end of vocabulary"
            raise VocabularyError(f"expected reserved token {token} at id {i}, found {found!r}", path=path,
                                  line=i + 1)
    return vocabulary


def _frequent_tokens(token_batches, limit, min_count):
    """The ``limit`` most frequent tokens (ties alphabetical, for determinism), reserved tokens excluded.

    An empty result would be a vocabulary of reserved tokens only, which no lookup table can hold.
    """
    counts = collections.Counter()
    for batch in token_batches:
        values, freq = np.unique(batch.flat_values.numpy(), return_counts=True)
        counts.update(dict(zip(values.tolist(), freq.tolist())))
    reserved = {t.encode() for t in RESERVED_TOKENS}
    counts = {t: c for t, c in counts.items() if t not in reserved and t}
    if not counts:
        raise EmptyDataError(_ALL_EMPTY)
    ranked = sorted((-c, t) for t, c in counts.items() if c >= min_count)
    if not ranked:
        raise VocabularyError(f"min_count={min_count} leaves no token: the most frequent one occurs "
                              f"{max(counts.values())} time(s) in the training texts; lower min_count",
                              options=("min_count",))
    return [t.decode("utf-8") for _, t in ranked[:limit]]


class Tokenizer(tf.Module):
    """Base class: clean, split into ids, optionally prefix ``[CLS]``; ``fit`` learns the vocabulary.

    Args:
        vocab_size: Largest vocabulary to learn, reserved tokens included.
        cleaning: A ``CleaningConfig`` (or dict); defaults to ``CleaningConfig()``.
        add_cls: Prefix every sequence with ``[CLS]`` (for ``cls`` pooling).

    Example:
        >>> tok = build_tokenizer("word", vocab_size=8000).fit(["a great film", "a dull film"])
        >>> tok.tokenize(tf.constant(["a great film"]))
        <tf.RaggedTensor [[5, 8, 6]]>
    """

    kind = None
    # Plain data: tf.Module would walk every token each time it collects variables (seconds per SavedModel).
    _TF_MODULE_IGNORED_PROPERTIES = tf.Module._TF_MODULE_IGNORED_PROPERTIES | {"_vocabulary"}

    def __init__(self, vocab_size=8000, *, cleaning=None, add_cls=False, name=None):
        super().__init__(name=name or f"{self.kind}_tokenizer")
        self.requested_vocab_size = _check_vocab_size(vocab_size)
        if isinstance(cleaning, dict):
            cleaning = CleaningConfig.from_dict(cleaning)
        if cleaning is not None and not isinstance(cleaning, CleaningConfig):
            raise DataSpecError(f"cleaning must be a CleaningConfig or a dict, not {type(cleaning).__name__}")
        self.cleaning = cleaning or CleaningConfig()
        if not isinstance(add_cls, bool):
            raise DataSpecError(f"add_cls must be true or false, not {add_cls!r}")
        self.add_cls = add_cls
        self._vocabulary = None

    # Subclasses: learn a vocabulary from a dataset of cleaned string batches, install one, and split.
    def _learn(self, cleaned):
        raise NotImplementedError

    def _install(self, vocabulary):
        raise NotImplementedError

    def _ids(self, cleaned):
        raise NotImplementedError

    def _options(self):
        return {}

    @property
    def fitted(self):
        """Whether the tokenizer has a vocabulary (from ``fit`` or ``load_tokenizer``)."""
        return self._vocabulary is not None

    @property
    def vocab_size(self):
        """Number of token ids (the learned vocabulary, reserved tokens included)."""
        self._require_fitted()
        return len(self._vocabulary)

    @property
    def vocabulary(self):
        """Tokens in id order."""
        self._require_fitted()
        return list(self._vocabulary)

    @property
    def core_ops_only(self):
        """Whether the graph needs only core TensorFlow ops (stock TF Serving can load it)."""
        return False

    @property
    def special_tokens(self):
        """``{name: token}`` of the special tokens: ``pad``, ``unk``, ``cls``, ``sep`` and ``mask``."""
        return dict(SPECIAL_TOKENS)

    @property
    def special_ids(self):
        """The ``SpecialIds`` of the special tokens in this tokenizer's vocabulary.

        Example:
            >>> WordTokenizer(100).fit(["a b"]).special_ids
            SpecialIds(pad=0, unk=1, cls=2, sep=3, mask=4)
        """
        self._require_fitted()
        return self._special_ids

    @property
    def pad_id(self):
        """Id of ``[PAD]``: padding, masked everywhere and never predicted."""
        return self.special_ids.pad

    @property
    def unk_id(self):
        """Id of ``[UNK]``."""
        return self.special_ids.unk

    @property
    def cls_id(self):
        """Id of ``[CLS]`` (prefixed by ``add_cls``; the begin token of lm and seq2seq sequences)."""
        return self.special_ids.cls

    @property
    def sep_id(self):
        """Id of ``[SEP]`` (the end token of lm and seq2seq sequences)."""
        return self.special_ids.sep

    @property
    def mask_id(self):
        """Id of ``[MASK]``."""
        return self.special_ids.mask

    def _require_fitted(self):
        if self._vocabulary is None:
            raise VocabularyError(f"the {self.kind} tokenizer has no vocabulary yet: call fit(texts) first")

    def fit(self, texts):
        """Learn the vocabulary from training texts (cleaned exactly as ``tokenize`` cleans); returns self.

        Args:
            texts: Iterable of training strings.

        Example:
            >>> tok = WordTokenizer(vocab_size=20000).fit(["a great film", "a dull film"])
            >>> tok.vocabulary
            ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'film', 'dull', 'great']
        """
        texts = text_list(texts)
        log.info("learning a %s vocabulary (up to %d tokens) from %d texts", self.kind,
                 self.requested_vocab_size, len(texts))
        self._set_vocabulary(self._learn(_strings_dataset(texts, self.cleaning)))
        log.info("%s vocabulary: %d tokens", self.kind, self.vocab_size)
        return self

    def _set_vocabulary(self, vocabulary):
        index = {token: i for i, token in reversed(list(enumerate(vocabulary)))}
        missing = [token for token in self.special_tokens.values() if token not in index]
        if missing:
            raise VocabularyError(f"the vocabulary has no special token {', '.join(missing)}: every zoo tokenizer "
                                  f"needs {', '.join(self.special_tokens.values())}")
        self._install(vocabulary)
        self._vocabulary = list(vocabulary)
        self._vocab_tensor = tf.constant(self._vocabulary, tf.string)
        self._special_ids = SpecialIds(**{name: index[token] for name, token in self.special_tokens.items()})

    def tokenize(self, strings):
        """Clean and tokenise ``tf.string`` input into int32 ids (graph-safe: tf.data, tf.function, SavedModel).

        Args:
            strings: ``tf.string`` tensor ``[batch]`` (or a scalar).

        Returns:
            ``tf.RaggedTensor`` int32 ``[batch, None]`` (a 1-D tensor for a scalar input).

        Example:
            >>> tok = WordTokenizer(100, add_cls=True).fit(["a great film", "a dull film"])
            >>> tok.tokenize(tf.constant(["a great film", "dull"]))
            <tf.RaggedTensor [[2, 5, 8, 6], [2, 7]]>
        """
        self._require_fitted()
        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        if strings.shape.rank == 0:
            return self.tokenize(tf.reshape(strings, [1]))[0]
        ids = tf.cast(self._ids(clean(strings, self.cleaning)), tf.int32)
        if self.add_cls:
            cls = tf.RaggedTensor.from_tensor(tf.fill([ids.nrows(), 1], tf.constant(self.cls_id, tf.int32)))
            ids = tf.concat([cls, ids], axis=1)
        return ids

    def encode(self, strings, sequence_length):
        """Tokenise, truncate to ``sequence_length`` and pad with ``pad_id``: int32 ``[batch, T]``.

        This is exactly what ``make_dataset(..., pad_to="fixed")`` yields, for serving signatures.

        Args:
            strings: ``tf.string`` tensor ``[batch]`` (or a scalar, giving ``[T]``).
            sequence_length: ``T``.

        Example:
            >>> tok = WordTokenizer(100).fit(["a great film", "a dull film"])
            >>> tok.encode(tf.constant(["a great film"]), 5).numpy()
            array([[5, 8, 6, 0, 0]], dtype=int32)
        """
        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        if strings.shape.rank == 0:
            return self.encode(tf.reshape(strings, [1]), sequence_length)[0]
        ids = self.tokenize(strings)[:, :sequence_length]
        return ids.to_tensor(default_value=self.pad_id, shape=[None, sequence_length])

    def detokenize(self, ids):
        """The text of one sequence of ids: its tokens joined as this kind splits text, ``[PAD]``, ``[CLS]`` and
        ``[SEP]`` left out. Cleaning is not undone (the text is lowercased, say, if cleaning lowercased it).

        Args:
            ids: One sequence of token ids (a list, or a 1-D array or tensor).

        Example:
            >>> tok = WordTokenizer(100).fit(["a great film", "a dull film"])
            >>> tok.detokenize(tok.encode(tf.constant(["A great film!"]), 6)[0])
            'a great film [UNK]'
        """
        row = tf.constant(np.asarray(ids, np.int64).reshape(1, -1), tf.int32)
        return self.detokenize_batch(row)[0].numpy().decode("utf-8")

    def detokenize_batch(self, ids):
        """``detokenize`` of each row of a batch, with TensorFlow ops (an exported lm's graph runs it).

        Args:
            ids: ``[B, None]`` token ids, ragged or dense (padding is left out as ``detokenize`` leaves it out).

        Returns:
            ``tf.string [B]``.

        Example:
            >>> tok = WordTokenizer(100).fit(["a great film", "a dull film"])
            >>> tok.detokenize_batch(tok.tokenize(tf.constant(["a great film", "a dull"])))
            <tf.Tensor: shape=(2,), dtype=string, numpy=array([b'a great film', b'a dull'], dtype=object)>
        """
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(ids))
        ids = tf.cast(ids, tf.int32)
        text = [tf.not_equal(ids, special) for special in (self.pad_id, self.cls_id, self.sep_id)]
        kept = tf.ragged.boolean_mask(ids, tf.logical_and(text[0], tf.logical_and(text[1], text[2])))
        return self._join(self.id_to_token(kept))

    def _join(self, tokens):
        """The texts of a ragged batch of token strings ``[B, None]`` (words: spaces between them)."""
        return tf.strings.reduce_join(tokens, axis=-1, separator=" ")

    def id_to_token(self, ids):
        """Token strings for ids (any shape, dense or ragged), e.g. to label attention maps.

        Args:
            ids: Integer tensor of token ids.

        Example:
            >>> tok = WordTokenizer(100).fit(["a great film", "a dull film"])
            >>> tok.id_to_token(tok.tokenize(tf.constant(["a great film"])))
            <tf.RaggedTensor [[b'a', b'great', b'film']]>
        """
        self._require_fitted()
        if isinstance(ids, tf.RaggedTensor):
            return ids.with_flat_values(self.id_to_token(ids.flat_values))
        return tf.gather(self._vocab_tensor, tf.cast(ids, tf.int32))

    def config(self):
        """The plain-data description written to ``tokenizer.json``."""
        return {
            "format_version": FORMAT_VERSION, "kind": self.kind, "vocab_size": self.requested_vocab_size,
            "add_cls": self.add_cls, "cleaning": self.cleaning.to_dict(), **self._options(),
        }

    def save(self, directory, label_names=None):
        """Write ``tokenizer.json`` and the vocabulary (plain files) to ``directory``; returns the path.

        Args:
            directory: Folder, created if needed.
            label_names: The data set's label vocabulary, written alongside as ``labels.txt``
                (read back with ``zoo.data.load_label_names``).

        Example:
            >>> tok = WordTokenizer(100).fit(["a great film", "a dull film"])
            >>> tok.save("my_tokenizer", label_names=["negative", "positive"])
            PosixPath('my_tokenizer')
            >>> load_tokenizer("my_tokenizer").tokenize(tf.constant(["a great film"]))
            <tf.RaggedTensor [[5, 8, 6]]>
        """
        self._require_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if label_names is not None:
            save_label_names(directory, label_names)
        self._write_vocabulary(directory)
        (directory / CONFIG_FILE).write_text(json.dumps(self.config(), indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
        return directory

    def _write_vocabulary(self, directory):
        (directory / self.VOCAB_FILE).write_text("".join(t + "\n" for t in self._vocabulary), encoding="utf-8")

    @classmethod
    def _read_vocabulary(cls, directory):
        path = directory / cls.VOCAB_FILE
        return _check_reserved_first(read_vocabulary(path), path)

    def __repr__(self):
        size = len(self._vocabulary) if self.fitted else "unfitted"
        return f"{type(self).__name__}(vocab_size={size}, add_cls={self.add_cls}, cleaning={self.cleaning})"


class _LookupTokenizer(Tokenizer):
    """Split into string tokens, then look them up in a static hash table (unknown -> ``[UNK]``)."""

    def __init__(self, vocab_size=8000, *, cleaning=None, add_cls=False, min_count=1, name=None):
        super().__init__(vocab_size, cleaning=cleaning, add_cls=add_cls, name=name)
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise DataSpecError(f"min_count must be a positive integer, not {min_count!r}")
        self.min_count = min_count

    def _split(self, cleaned):
        raise NotImplementedError

    def _learn(self, cleaned):
        words = cleaned.map(tf.autograph.experimental.do_not_convert(self._split))
        tokens = _frequent_tokens(words, self.requested_vocab_size - len(RESERVED_TOKENS), self.min_count)
        return list(RESERVED_TOKENS) + tokens

    def _install(self, vocabulary):
        # Reserved tokens are not keys: text can never produce [PAD]/[CLS]/... ids.
        keys = tf.constant(vocabulary[len(RESERVED_TOKENS):], tf.string)
        values = tf.range(len(RESERVED_TOKENS), len(vocabulary), dtype=tf.int64)
        self._table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values),
                                                default_value=UNK_ID)

    def _ids(self, cleaned):
        return tf.ragged.map_flat_values(self._table.lookup, self._split(cleaned))

    def looked_up(self, texts):
        """Return the strings each text is split into and looked up, one per id (``[CLS]`` not included).

        An ``[UNK]`` id stands for its string here: ``zoo explain`` shows the word the vocabulary lacks.

        Args:
            texts: A list or 1-D ``tf.string`` tensor of raw texts (cleaned as ``encode`` cleans them).

        Example:
            >>> tokenizer = WordTokenizer(20).fit(["a good film"])
            >>> [t.decode() for t in tokenizer.looked_up(["A gripping film!"])[0].numpy()]
            ['a', 'gripping', 'film', '!']
        """
        return self._split(clean(tf.constant(texts, tf.string), self.cleaning))

    def _options(self):
        return {"min_count": self.min_count}


class WordTokenizer(_LookupTokenizer):
    """Word-level tokenizer: split words and punctuation, look words up, unknown words -> ``[UNK]``.

    Args:
        vocab_size: Largest vocabulary, reserved tokens included (most frequent words kept).
        cleaning: A ``CleaningConfig``.
        add_cls: Prefix ``[CLS]``.
        min_count: Drop words seen fewer times in training.
        split: ``"punctuation"`` (whitespace, with each punctuation mark or symbol its own token; core
            TensorFlow ops only) or ``"unicode_script"`` (tensorflow-text's ``UnicodeScriptTokenizer``).

    With ``split="punctuation"`` and ``cleaning.normalization=None`` the whole graph is core TensorFlow
    (``core_ops_only``): stock TF Serving can load it without tensorflow-text.

    Example:
        >>> tok = WordTokenizer(20000, cleaning=CleaningConfig(normalization=None)).fit(["a great film"])
        >>> tok.core_ops_only
        True
    """

    kind = "word"
    VOCAB_FILE = "vocab.txt"
    SPLITS = ("punctuation", "unicode_script")

    def __init__(self, vocab_size=20000, *, cleaning=None, add_cls=False, min_count=1, split="punctuation",
                 name=None):
        super().__init__(vocab_size, cleaning=cleaning, add_cls=add_cls, min_count=min_count, name=name)
        if split not in self.SPLITS:
            raise DataSpecError(f"word split must be one of {', '.join(self.SPLITS)}, not {split!r}")
        self.split = split
        if split == "unicode_script":
            import tensorflow_text as tf_text

            self._script_tokenizer = tf_text.UnicodeScriptTokenizer()

    @property
    def core_ops_only(self):
        return self.split == "punctuation" and self.cleaning.core_ops_only

    def _split(self, cleaned):
        if self.split == "unicode_script":
            return self._script_tokenizer.tokenize(cleaned)
        return tf.strings.split(tf.strings.regex_replace(cleaned, _PUNCTUATION, r" \1 "))

    def _options(self):
        return {**super()._options(), "split": self.split}


class CharTokenizer(_LookupTokenizer):
    """Character-level tokenizer (Unicode code points; the space is a token); core TensorFlow ops only.

    Args:
        vocab_size: Largest vocabulary, reserved tokens included (most frequent characters kept).
        cleaning: A ``CleaningConfig``.
        add_cls: Prefix ``[CLS]``.
        min_count: Drop characters seen fewer times in training.

    Example:
        >>> tok = CharTokenizer(300).fit(["a great film", "a dull film"])
        >>> tok.id_to_token(tok.tokenize(tf.constant(["a film"])))
        <tf.RaggedTensor [[b'a', b' ', b'f', b'i', b'l', b'm']]>
    """

    kind = "char"
    # JSON, not one token per line: the space character is a token.
    VOCAB_FILE = "vocab.json"

    def __init__(self, vocab_size=300, *, cleaning=None, add_cls=False, min_count=1, name=None):
        super().__init__(vocab_size, cleaning=cleaning, add_cls=add_cls, min_count=min_count, name=name)

    @property
    def core_ops_only(self):
        return self.cleaning.core_ops_only

    def _split(self, cleaned):
        return tf.strings.unicode_split(cleaned, "UTF-8", errors="replace")

    def _join(self, tokens):
        return tf.strings.reduce_join(tokens, axis=-1)  # the space is a token of its own

    def _write_vocabulary(self, directory):
        (directory / self.VOCAB_FILE).write_text(json.dumps(self._vocabulary, ensure_ascii=False, indent=0),
                                                 encoding="utf-8")

    @classmethod
    def _read_vocabulary(cls, directory):
        path = directory / cls.VOCAB_FILE
        if not path.is_file():
            raise DataFileNotFoundError(f"{path}: vocabulary file not found", path=path)
        vocab = read_json(path, list, "list of tokens")
        return _check_reserved_first(check_vocabulary([str(token) for token in vocab], path), path)


class WordPieceTokenizer(Tokenizer):
    """WordPiece: vocabulary learned with tensorflow-text's WordPiece learner, ids from ``FastWordpieceTokenizer``.

    Args:
        vocab_size: Largest vocabulary, reserved tokens included; the learner lands within
            ``slack_ratio`` below it when the data allow.
        cleaning: A ``CleaningConfig``.
        add_cls: Prefix ``[CLS]``.
        learn_params: Extra arguments for ``wordpiece_tokenizer_learner_lib.learn``, of ``LEARN_PARAMS``
            (e.g. ``num_iterations``, ``max_unique_chars``, ``slack_ratio``).

    Example:
        >>> tok = WordPieceTokenizer(8000).fit(["a great film", "a dull film", "good plots"])
        >>> tok.id_to_token(tok.tokenize(tf.constant(["great films"])))
        <tf.RaggedTensor [[b'great', b'film', b'##s']]>
    """

    kind = "wordpiece"
    VOCAB_FILE = "vocab.txt"
    SUFFIX = "##"
    # wordpiece_tokenizer_learner_lib.learn's arguments that learn_params may set.
    LEARN_PARAMS = ("num_iterations", "max_input_tokens", "max_token_length", "max_unique_chars", "slack_ratio")
    # The learner keeps every character and its "##" form; beyond that, each probe of its frequency
    # threshold costs one full pass over the word counts.
    MAX_PROBES = 8

    def __init__(self, vocab_size=8000, *, cleaning=None, add_cls=False, learn_params=None, name=None):
        super().__init__(vocab_size, cleaning=cleaning, add_cls=add_cls, name=name)
        self.learn_params = dict(learn_params or {})
        # The learner's other arguments are zoo's: the size and thresholds it searches, the reserved tokens, and
        # the "##" joiner, which FastWordpieceTokenizer expects (with "@@" every continuation would be [UNK]).
        unknown = sorted(set(self.learn_params) - set(self.LEARN_PARAMS))
        if unknown:
            raise DataSpecError(f"learn_params may not set {unknown}; it takes {', '.join(self.LEARN_PARAMS)}")
        slack = self.learn_params.get("slack_ratio", 0.0)
        if isinstance(slack, bool) or not isinstance(slack, (int, float)) or not 0.0 <= slack < 1.0:
            raise DataSpecError(f"learn_params.slack_ratio must be a fraction in [0, 1), not {slack!r}")

    @staticmethod
    def _controls_apart(cleaned):
        """Control and format characters made spaces, as BERT's basic split (the learner's) makes them.

        FastWordpieceTokenizer's own split keeps them inside words: "real\\x97she" (MR's latin-1 dash), learnt as
        "real" and "she", became one ``[UNK]``. Done before both, they split the same words.
        """
        return tf.strings.regex_replace(cleaned, r"[\p{Cc}\p{Cf}]", " ")

    def _learn(self, cleaned):
        from tensorflow_text.python.ops.bert_tokenizer import BasicTokenizer
        from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

        # The same word split that bert_vocab_from_dataset uses; cleaning already lower-cased/normalised.
        words = cleaned.map(tf.autograph.experimental.do_not_convert(
            lambda s: BasicTokenizer(lower_case=False).tokenize(self._controls_apart(s))))
        try:
            word_counts = list(learner.count_words(words).items())
        except StopIteration:  # count_words' way of saying that there is no word at all
            raise EmptyDataError(_ALL_EMPTY) from None
        return self._search_threshold(learner, word_counts)

    def _search_threshold(self, learner, word_counts):
        """Find the frequency threshold whose vocabulary is largest without exceeding ``vocab_size``.

        ``bert_vocab_from_dataset`` bisects the threshold linearly from 10 to the top word count (~15
        learner passes on MR, a minute); vocabulary size falls roughly as a power of the threshold, so
        interpolating in log-log space lands in 3-5 passes. Its ``lower_thresh=10`` also caps small
        corpora far below the requested size (3.8k of 8k on MR); here the threshold may go down to 1.
        """
        target = self.requested_vocab_size
        slack = float(self.learn_params.get("slack_ratio", 0.05))
        params = {k: v for k, v in self.learn_params.items() if k != "slack_ratio"}
        max_count = max(count for _, count in word_counts)
        tried = {}

        def learn_at(threshold):
            if threshold not in tried:
                tried[threshold] = learner.learn(word_counts, target, list(RESERVED_TOKENS),
                                                 upper_thresh=threshold, lower_thresh=threshold, **params)
                log.info("wordpiece: pass %d, subwords seen >= %d times -> %d tokens (target %d)",
                         len(tried), threshold, len(tried[threshold]), target)
            return len(tried[threshold])

        low = high = None  # (threshold, size): largest threshold known too big, smallest known to fit
        threshold = max(1, min(max_count, round(math.sqrt(max_count))))
        for _ in range(self.MAX_PROBES):
            size = learn_at(threshold)
            if size > target:
                low = (threshold, size)
            else:
                high = (threshold, size)
                if size >= (1 - slack) * target or threshold == 1:
                    break
            if low and high and high[0] - low[0] <= 1:
                break
            if low is not None and low[0] > max_count:
                break
            aim = math.log(target * (1 - slack / 2))
            if low and high:
                slope = (math.log(high[1]) - math.log(low[1])) / (math.log(high[0]) - math.log(low[0]))
                guess = math.exp(math.log(low[0]) + (aim - math.log(low[1])) / slope) if slope else high[0] - 1
                threshold = min(max(round(guess), low[0] + 1), high[0] - 1)
            else:
                # One side only: assume size ~ threshold^-0.75, typical of word-frequency tails.
                guess = threshold * math.exp((math.log(size) - aim) / 0.75)
                threshold = (max(round(guess), threshold + 1) if size > target
                             else max(min(round(guess), threshold - 1), 1))
                threshold = min(threshold, max_count + 1)
        if high is None:
            raise VocabularyError(
                f"vocab_size={target} is too small for this text: WordPiece keeps every character and its "
                f"'##' form, which alone need {min(len(v) for v in tried.values())} ids with the reserved tokens",
                options=("vocab_size",))
        return tried[high[0]]

    def _install(self, vocabulary):
        import tensorflow_text as tf_text

        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocabulary, suffix_indicator=self.SUFFIX, token_out_type=tf.int32, unknown_token=SPECIAL_TOKENS["unk"],
            no_pretokenization=False)

    def _ids(self, cleaned):
        return self._wordpiece.tokenize(self._controls_apart(cleaned))

    def _join(self, tokens):
        # A "##" piece continues the word before it.
        return tf.strings.regex_replace(super()._join(tokens), " " + re.escape(self.SUFFIX), "")

    def _options(self):
        return {"learn_params": dict(self.learn_params)}


class SentencePieceTokenizer(Tokenizer):
    """SentencePiece: trained with the ``sentencepiece`` package, run with tensorflow-text's op.

    Args:
        vocab_size: Vocabulary size, reserved tokens included (a maximum: small corpora may give fewer).
        cleaning: A ``CleaningConfig`` (SentencePiece's own normaliser is off: cleaning is the only one).
        add_cls: Prefix ``[CLS]``.
        model_type: ``"unigram"`` or ``"bpe"``.
        character_coverage: Share of characters the model must cover (rarer ones become ``[UNK]``).

    Example:
        >>> tok = SentencePieceTokenizer(8000).fit(["a great film", "a dull film", "great films"] * 10)
        >>> tok.vocab_size
        20
    """

    kind = "sentencepiece"
    MODEL_FILE = "sentencepiece.model"
    WORD_START = "\u2581"  # the piece that starts a word carries it in place of the space before it
    MODEL_TYPES = ("unigram", "bpe")

    def __init__(self, vocab_size=8000, *, cleaning=None, add_cls=False, model_type="unigram",
                 character_coverage=1.0, name=None):
        super().__init__(vocab_size, cleaning=cleaning, add_cls=add_cls, name=name)
        if model_type not in self.MODEL_TYPES:
            raise DataSpecError(f"model_type must be one of {', '.join(self.MODEL_TYPES)}, not {model_type!r}")
        if not 0.0 < float(character_coverage) <= 1.0:
            raise DataSpecError(f"character_coverage must be in (0, 1], not {character_coverage!r}")
        self.model_type = model_type
        self.character_coverage = float(character_coverage)
        self._model_proto = None

    def _learn(self, cleaned):
        import sentencepiece as spm

        raw = [s for batch in cleaned.as_numpy_iterator() for s in batch if s]
        if not raw:
            raise EmptyDataError(_ALL_EMPTY)
        sentences = [s.decode("utf-8") for s in raw]
        model = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences), model_writer=model, vocab_size=self.requested_vocab_size,
                model_type=self.model_type, character_coverage=self.character_coverage,
                pad_id=PAD_ID, unk_id=UNK_ID, bos_id=-1, eos_id=-1, pad_piece=SPECIAL_TOKENS["pad"], unk_piece=SPECIAL_TOKENS["unk"],
                control_symbols=list(RESERVED_TOKENS[2:]), normalization_rule_name="identity",
                hard_vocab_limit=False, minloglevel=2,
                # The trainer skips, unlogged at this level, every text longer than this (a long review): each
                # training text counts. It refuses limits under its default's range, so that stays the floor.
                max_sentence_length=max(_SENTENCEPIECE_MAX_SENTENCE, *(len(s) for s in raw)),
            )
        except RuntimeError as error:
            raise VocabularyError(f"SentencePiece training failed with vocab_size={self.requested_vocab_size}: "
                                  f"{error}", options=("vocab_size",)) from None
        self._model_proto = model.getvalue()
        return self._pieces(self._model_proto)

    @staticmethod
    def _pieces(model_proto):
        import sentencepiece as spm

        processor = spm.SentencePieceProcessor(model_proto=model_proto)
        return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]

    def _install(self, vocabulary):
        import tensorflow_text as tf_text

        self._sentencepiece = tf_text.SentencepieceTokenizer(model=self._model_proto, out_type=tf.int32)

    def _ids(self, cleaned):
        return self._sentencepiece.tokenize(cleaned)

    def _join(self, tokens):
        words = tf.strings.regex_replace(tf.strings.reduce_join(tokens, axis=-1), re.escape(self.WORD_START), " ")
        return tf.strings.strip(words)

    def _options(self):
        return {"model_type": self.model_type, "character_coverage": self.character_coverage}

    def _write_vocabulary(self, directory):
        (directory / self.MODEL_FILE).write_bytes(self._model_proto)

    @classmethod
    def _read_model(cls, directory):
        path = directory / cls.MODEL_FILE
        if not path.is_file():
            raise DataFileNotFoundError(f"{path}: SentencePiece model file not found", path=path)
        proto = path.read_bytes()
        try:
            pieces = cls._pieces(proto)
        except (RuntimeError, OSError) as error:
            raise VocabularyError(f"not a SentencePiece model ({error})", path=path) from None
        return proto, _check_reserved_first(check_vocabulary(pieces, path), path)


TOKENIZERS = {cls.kind: cls for cls in (WordPieceTokenizer, WordTokenizer, CharTokenizer, SentencePieceTokenizer)}
KINDS = tuple(TOKENIZERS) + ("word_core",)
# Kinds with a pretrained vocabulary: loaded (load_tokenizer, zoo.from_pretrained), never built or fitted.
# Imported on use: their modules import this one.
PRETRAINED_KINDS = {"bert": ("zoo.data.bert_tokenizer", "BertTokenizer")}


def _tokenizer_class(kind):
    if kind in PRETRAINED_KINDS:
        import importlib

        module, name = PRETRAINED_KINDS[kind]
        return getattr(importlib.import_module(module), name)
    return TOKENIZERS.get(kind)


def build_tokenizer(kind, vocab_size=None, *, cleaning=None, add_cls=False, **options):
    """Create an unfitted tokenizer of a kind; call ``.fit(train_texts)`` on it.

    Args:
        kind: ``"wordpiece"``, ``"word"``, ``"char"``, ``"sentencepiece"``, or ``"word_core"`` (a word
            tokenizer using only core TensorFlow ops, for stock TF Serving: no Unicode normalisation).
        vocab_size: Largest vocabulary, reserved tokens included (defaults: 8000; word 20000; char 300).
        cleaning: A ``CleaningConfig`` or dict of its fields.
        add_cls: Prefix ``[CLS]`` to every sequence.
        **options: Kind-specific options (``min_count``, ``split``, ``learn_params``, ``model_type``, ...).

    Example:
        >>> tok = build_tokenizer("wordpiece", vocab_size=8000, add_cls=True).fit(["a great film", "a dull film"])
        >>> tok.id_to_token(tok.tokenize(tf.constant(["a great film"])))
        <tf.RaggedTensor [[b'[CLS]', b'a', b'great', b'film']]>
    """
    if kind == "word_core":
        if isinstance(cleaning, dict):
            cleaning = CleaningConfig.from_dict({"normalization": None, **cleaning})
        cleaning = cleaning or CleaningConfig(normalization=None)
        if not cleaning.core_ops_only:
            raise DataSpecError("word_core tokenizers use only core TensorFlow ops: set cleaning normalization to "
                                f"None (got {cleaning.normalization!r}, which needs tensorflow-text)")
        if options.get("split", "punctuation") != "punctuation":
            raise DataSpecError("word_core tokenizers split on punctuation (core ops); 'unicode_script' needs "
                                "tensorflow-text")
        kind = "word"
    if kind in PRETRAINED_KINDS:
        raise DataSpecError(f"a {kind} tokenizer comes with its pretrained checkpoint and cannot be learnt: use "
                            "zoo.from_pretrained(folder) or model.init_from: <checkpoint folder>")
    if kind not in TOKENIZERS:
        raise DataSpecError(f"unknown tokenizer kind {kind!r}; choose one of {', '.join(KINDS)}")
    cls = TOKENIZERS[kind]
    accepted = sorted(set(inspect.signature(cls).parameters) - {"vocab_size", "cleaning", "add_cls"})
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise DataSpecError(f"a {kind} tokenizer has no option {', '.join(map(repr, unknown))}; its options: "
                            f"{', '.join(accepted)}", options=unknown)
    if vocab_size is not None:
        options["vocab_size"] = vocab_size
    return cls(cleaning=cleaning, add_cls=add_cls, **options)


def load_tokenizer(directory):
    """Load a tokenizer written by ``Tokenizer.save``; it gives the same ids as the saved one.

    Args:
        directory: Folder holding ``tokenizer.json`` and the vocabulary.

    Example:
        >>> tok = load_tokenizer("runs/reviews/tokenizer")
        >>> tok
        WordTokenizer(vocab_size=39, add_cls=False, cleaning=CleaningConfig(...))
    """
    directory = Path(directory)
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise DataFileNotFoundError(f"{path}: tokenizer config not found (is {directory} a saved tokenizer?)",
                                    path=path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise VocabularyError(f"not a tokenizer config ({error})", path=path) from None
    if not isinstance(config, dict) or config.get("format_version") != FORMAT_VERSION:
        raise VocabularyError(f"unsupported tokenizer format_version {config.get('format_version')!r}"
                              if isinstance(config, dict) else "not a JSON object", path=path,
                              column="format_version")
    config = dict(config)
    config.pop("format_version")
    kind = config.pop("kind", None)
    cls = _tokenizer_class(kind)
    if cls is None:
        raise VocabularyError(f"unknown tokenizer kind {kind!r}", path=path, column="kind")
    try:
        tokenizer = cls(**config)
    except TypeError as error:
        raise VocabularyError(f"bad tokenizer options: {error}", path=path) from None
    if cls is SentencePieceTokenizer:
        tokenizer._model_proto, vocabulary = cls._read_model(directory)
    else:
        vocabulary = cls._read_vocabulary(directory)
    tokenizer._set_vocabulary(vocabulary)
    return tokenizer
