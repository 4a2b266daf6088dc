"""BERT's WordPiece tokenizer in-graph: a pretrained checkpoint's ``vocab.txt``, the ids Hugging Face gives.

The text goes through exactly the steps of Hugging Face's ``BertNormalizer`` and ``BertPreTokenizer``
(the fast ``tokenizers`` package that reads a checkpoint's ``tokenizer.json``), written as TensorFlow and
tensorflow-text ops, so one object gives the same ids in ``tf.data``, in a ``tf.function`` and inside a
SavedModel:

1. clean: tab, newline and carriage return become spaces; NUL, U+FFFD and every control, format and
   private-use character (Unicode ``Cc``, ``Cf``, ``Co``) is removed; other whitespace becomes a space;
2. a space on each side of every CJK ideograph (``tokenize_chinese_chars``);
3. accents stripped: NFD, then every non-spacing mark (``Mn``) removed (``strip_accents``, by default
   whenever lower-casing);
4. lower-cased character by character (``do_lower_case``);
5. split on whitespace and around every punctuation character (Unicode ``P*`` and ASCII symbols);
6. WordPiece (``##`` continuations, greedy longest match) with tensorflow-text's ``FastWordpieceTokenizer``;
   a word that cannot be covered, or longer than 100 characters, is one ``[UNK]``.

tensorflow-text's own ``FastBertTokenizer`` and ``BertTokenizer`` are not used: they case-fold and apply
NFKC compatibility mappings (``ß`` -> ``ss``, ``ﬁ`` -> ``fi``, full-width letters -> ASCII), and split on
control characters where Hugging Face deletes them, so their ids differ on such text.

Known divergence from Hugging Face (tests/data/test_bert_tokenizer.py measures it): ``tokenizers`` takes its
Unicode categories from the ``unicode_categories`` crate, whose tables predate characters that RE2 and ICU
(TensorFlow's regular expressions and normalisation) know. Of the 1,112,064 non-surrogate code points, 568
are classified differently -- punctuation and marks of recently encoded scripts (Sogdian, Newa, Adlam, ...),
a few format characters -- and so split or vanish differently; none is Latin, Greek, Cyrillic, CJK or a
common symbol, and all of them are ``[UNK]`` in an English vocabulary either way. Text never produces a
special token's id: Hugging Face maps the literal text ``[CLS]`` to id 101, zoo tokenises it as ``[``,
``cl``, ``##s``, ``]``. For the same reason ``from_pretrained`` refuses a checkpoint with tokens added besides
the special ones (``added_tokens.json``, ``added_tokens_decoder``, ``additional_special_tokens``), whose text
Hugging Face maps to their own ids.
"""
from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo.data.errors import DataFileNotFoundError, VocabularyError
from zoo.data.special_tokens import SPECIAL_TOKENS
from zoo.data.tokenizers import FORMAT_VERSION, Tokenizer, check_vocabulary, read_json, read_vocabulary

VOCAB_FILE = "vocab.txt"
HF_CONFIG_FILE = "tokenizer_config.json"
# Where older transformers versions (and many Hub checkpoints) write the special tokens instead.
HF_SPECIAL_TOKENS_FILE = "special_tokens_map.json"
# Tokens added after pretraining ({token: id}), as older transformers versions save them.
HF_ADDED_TOKENS_FILE = "added_tokens.json"
# The fast tokenizer's file, which newer checkpoints may ship without vocab.txt.
HF_FAST_TOKENIZER_FILE = "tokenizer.json"
# Hugging Face's WordPiece max_input_chars_per_word for BERT.
MAX_WORD_CHARS = 100
# tokenizer_config.json key -> (BertTokenizer argument, Hugging Face's default).
_HF_OPTIONS = {"do_lower_case": ("lowercase", True), "strip_accents": ("strip_accents", None),
               "tokenize_chinese_chars": ("chinese_chars", True)}
# tokenizer_config.json classes that run this algorithm.
HF_TOKENIZER_CLASSES = ("BertTokenizer", "BertTokenizerFast", "DistilBertTokenizer", "DistilBertTokenizerFast")

# Removed by cleaning (tab, newline and carriage return are turned into spaces first).
_REMOVED = r"[\x{0}\x{FFFD}\p{Cc}\p{Cf}\p{Co}\p{Cs}]"
# Rust's char::is_whitespace (the White_Space property) less the controls that cleaning removed.
_SPACES = r"[\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
# Hugging Face's is_chinese_char ranges (tokenizers' normalizers/bert.rs).
_CJK = (r"[\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B73F}\x{2B740}-\x{2B81F}"
        r"\x{2B920}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]")
# ASCII punctuation and symbols (Rust's is_ascii_punctuation) and Unicode punctuation.
_PUNCTUATION = r"[!-/:-@\[-`{-~\p{P}]"


# Their Python branches test Python values only; autograph would transpile them and every tensorflow-text
# function they call, about 5 s per trace.
_graph_method = tf.autograph.experimental.do_not_convert


def _hf_token(config, key, path):
    """A special token of a Hugging Face file: a string, or an AddedToken dict with its ``content``."""
    value = config[key]
    if isinstance(value, dict):
        value = value.get("content")
    if not isinstance(value, str) or not value:
        raise VocabularyError(f"{key} must be a token string, not {config[key]!r}", path=path, column=key)
    return value


def _hf_token_sources(config, config_path, directory):
    """``[(parsed file, its path)]`` of tokenizer_config.json and, where there is one, special_tokens_map.json."""
    sources = [(config, config_path)]
    map_path = directory / HF_SPECIAL_TOKENS_FILE
    if map_path.is_file():
        sources.append((read_json(map_path, dict, "special-tokens map"), map_path))
    return sources


def _hf_special_tokens(sources):
    """``{role: token}`` from tokenizer_config.json and special_tokens_map.json, which must agree where both
    name a role, so that neither file is silently overruled; BERT's token where neither names one."""
    special = {}
    for role, default in SPECIAL_TOKENS.items():
        key = f"{role}_token"
        given = {path: _hf_token(source, key, path) for source, path in sources if key in source}
        if len(set(given.values())) > 1:
            (path_a, a), (path_b, b) = given.items()
            raise VocabularyError(f"{key} is {a!r} here but {b!r} in {path_b}: make the two files agree",
                                  path=path_a, column=key)
        special[role] = next(iter(given.values()), default)
    return special


def _refuse_added_tokens(sources, directory, special):
    """Refuse tokens added besides the special ones: Hugging Face maps their text to their ids before WordPiece,
    which zoo never does, so the ids would differ silently wherever the text holds them."""
    found = []  # (file, key, token)
    for source, path in sources:
        lists = {"additional_special_tokens": source.get("additional_special_tokens") or [],
                 "added_tokens_decoder": (source.get("added_tokens_decoder") or {}).values()}
        found += [(path, key, entry.get("content") if isinstance(entry, dict) else entry)
                  for key, entries in lists.items() for entry in entries]
    added_path = directory / HF_ADDED_TOKENS_FILE
    if added_path.is_file():
        found += [(added_path, None, token) for token in read_json(added_path, dict, "added-tokens map")]
    extra = [(path, key, token) for path, key, token in found if token not in special.values()]
    if extra:
        path, key, _ = extra[0]
        tokens = sorted({token for p, k, token in extra if (p, k) == (path, key)}, key=str)
        raise VocabularyError(f"added tokens {tokens[:5]}{' ...' if len(tokens) > 5 else ''} are not supported: "
                              "Hugging Face gives their text their own ids, zoo's WordPiece splits it into pieces; "
                              "remove them to tokenise such text as words", path=path, column=key)


class BertTokenizer(Tokenizer):
    """BERT WordPiece over a fixed vocabulary; ``tokenize`` gives ``[CLS] text [SEP]``, ``pack`` pairs too.

    Args:
        vocabulary: Tokens in id order (a checkpoint's ``vocab.txt``); it must hold the special tokens.
        lowercase: Lower-case the text (``do_lower_case``).
        strip_accents: Remove accents; ``None`` follows ``lowercase`` (Hugging Face's default).
        chinese_chars: Make every CJK ideograph a word of its own (``tokenize_chinese_chars``).
        special_tokens: ``{role: token}`` for the roles ``pad``, ``unk``, ``cls``, ``sep``, ``mask``
            (default BERT's ``[PAD]``, ``[UNK]``, ``[CLS]``, ``[SEP]``, ``[MASK]``).

    Example:
        >>> tok = BertTokenizer.from_pretrained("checkpoints/all-MiniLM-L6-v2")
        >>> tok.tokenize(tf.constant(["Hello, world!"]))
        <tf.RaggedTensor [[101, 7592, 1010, 2088, 999, 102]]>
        >>> tok.pack(tf.constant(["a question"]), tf.constant(["an answer"]), sequence_length=8)["segment_ids"].numpy()
        array([[0, 0, 0, 0, 1, 1, 1, 0]], dtype=int32)
    """

    kind = "bert"
    # Marks a WordPiece that continues the word before it (``zoo explain`` merges pieces back into words).
    SUFFIX = "##"
    VOCAB_FILE = VOCAB_FILE

    def __init__(self, vocabulary=None, *, lowercase=True, strip_accents=None, chinese_chars=True,
                 special_tokens=None, name=None):
        # The base's vocab_size, cleaning and add_cls describe a vocabulary learnt from data and zoo's own
        # cleaning; a BERT vocabulary is given and its normalisation is BERT's, so only tf.Module's set-up runs.
        tf.Module.__init__(self, name=name or "bert_tokenizer")
        for option, value in (("lowercase", lowercase), ("chinese_chars", chinese_chars)):
            if not isinstance(value, bool):
                raise VocabularyError(f"{option} must be true or false, not {value!r}", column=option)
        if strip_accents is not None and not isinstance(strip_accents, bool):
            raise VocabularyError(f"strip_accents must be true, false or null, not {strip_accents!r}",
                                  column="strip_accents")
        special_tokens = {**SPECIAL_TOKENS, **(special_tokens or {})}
        unknown = sorted(set(special_tokens) - set(SPECIAL_TOKENS))
        if unknown:
            raise VocabularyError(f"unknown special-token roles {unknown}; roles: {', '.join(SPECIAL_TOKENS)}",
                                  column="special_tokens")
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.chinese_chars = chinese_chars
        self._special_tokens = special_tokens
        self._vocabulary = None
        if vocabulary is not None:
            self._set_vocabulary(list(vocabulary))

    @classmethod
    def from_pretrained(cls, directory):
        """Read a Hugging Face BERT tokenizer folder: ``vocab.txt``, ``tokenizer_config.json`` and, where there
        is one, ``special_tokens_map.json`` (its special tokens must agree with ``tokenizer_config.json``'s).

        Args:
            directory: The checkpoint folder.

        Example:
            >>> tok = BertTokenizer.from_pretrained("checkpoints/all-MiniLM-L6-v2")
            >>> tok.vocab_size, tok.special_ids
            (30522, SpecialIds(pad=0, unk=100, cls=101, sep=102, mask=103))
        """
        directory = Path(directory)
        path = directory / HF_CONFIG_FILE
        if not path.is_file():
            # transformers would assume do_lower_case true, which gives a cased model silently wrong ids.
            raise DataFileNotFoundError(
                f"{path}: tokenizer config not found (a Hugging Face BERT checkpoint has {HF_CONFIG_FILE} next "
                f"to {VOCAB_FILE}); write one saying whether the model is cased: "
                '{"do_lower_case": true} for an uncased model, {"do_lower_case": false} for a cased one',
                path=path)
        config = read_json(path, dict, "tokenizer config")
        tokenizer_class = config.get("tokenizer_class")
        # null, like no key, leaves the class to config.json's model_type (as in transformers' AutoTokenizer).
        if tokenizer_class is not None and tokenizer_class not in HF_TOKENIZER_CLASSES:
            raise VocabularyError(f"tokenizer_class {tokenizer_class!r} is not a BERT WordPiece tokenizer; "
                                  f"supported: {', '.join(HF_TOKENIZER_CLASSES)}", path=path,
                                  column="tokenizer_class")
        if config.get("do_basic_tokenize", True) is not True:
            raise VocabularyError("do_basic_tokenize false (WordPiece without BERT's cleaning and splitting) "
                                  "is not supported", path=path, column="do_basic_tokenize")
        if config.get("never_split"):
            raise VocabularyError("never_split is not supported: zoo never maps text to special tokens",
                                  path=path, column="never_split")
        sources = _hf_token_sources(config, path, directory)
        special = _hf_special_tokens(sources)
        _refuse_added_tokens(sources, directory, special)
        options = {option: config.get(key, default) for key, (option, default) in _HF_OPTIONS.items()}
        try:
            tokenizer = cls(special_tokens=special, **options)
        except VocabularyError as error:
            key = next(k for k, (option, _) in _HF_OPTIONS.items() if option == error.column)
            raise VocabularyError(error.reason, path=path, column=key) from None
        vocabulary_path = directory / VOCAB_FILE
        fast_path = directory / HF_FAST_TOKENIZER_FILE
        if not vocabulary_path.is_file() and fast_path.is_file():
            raise DataFileNotFoundError(
                f"{vocabulary_path}: vocabulary file not found; write it from {fast_path} with: python -c "
                f"\"import tokenizers; tokenizers.Tokenizer.from_file('{fast_path}').model.save('{directory}')\"",
                path=vocabulary_path)
        tokenizer._set_vocabulary(read_vocabulary(vocabulary_path, special))
        return tokenizer

    @classmethod
    def from_vocabulary_file(cls, path, **options):
        """A tokenizer over the vocabulary file ``path`` (one token per line); errors name the file and line.

        Args:
            path: The vocabulary file, e.g. a keras-hub preset's ``assets/tokenizer/vocabulary.txt``.
            **options: ``lowercase``, ``strip_accents``, ``chinese_chars``, ``special_tokens``.

        Example:
            >>> BertTokenizer.from_vocabulary_file("checkpoints/all-MiniLM-L6-v2/vocab.txt", lowercase=True)
            BertTokenizer(vocab_size=30522, lowercase=True, strip_accents=None, chinese_chars=True)
        """
        tokenizer = cls(**options)
        tokenizer._set_vocabulary(read_vocabulary(path, tokenizer.special_tokens))
        return tokenizer

    # --- the vocabulary and its special tokens
    @classmethod
    def _read_vocabulary(cls, directory):
        return read_vocabulary(Path(directory) / VOCAB_FILE)

    def _set_vocabulary(self, vocabulary):
        # The base checks the special tokens; a given vocabulary can also repeat or hold empty tokens.
        super()._set_vocabulary(check_vocabulary(vocabulary))

    def _install(self, vocabulary):
        import tensorflow_text as tf_text

        # A word of up to MAX_WORD_CHARS characters has at most 4 bytes per character; longer words are
        # replaced by the unknown token before WordPiece sees them.
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocabulary, suffix_indicator=self.SUFFIX, max_bytes_per_word=4 * MAX_WORD_CHARS, token_out_type=tf.int32,
            unknown_token=self._special_tokens["unk"], no_pretokenization=True)

    def fit(self, texts):
        """Not available: a BERT vocabulary comes with its checkpoint (``BertTokenizer.from_pretrained``)."""
        raise VocabularyError("a BertTokenizer's vocabulary comes from its pretrained checkpoint and cannot be "
                              "learnt: use BertTokenizer.from_pretrained(folder)")

    @property
    def special_tokens(self):
        """``{name: token}`` of ``pad``, ``unk``, ``cls``, ``sep`` and ``mask`` (BERT's, unless renamed)."""
        return dict(self._special_tokens)

    # --- text to ids
    @_graph_method
    def normalize(self, strings):
        """Steps 1-4 of the module docstring: BERT's cleaning, CJK spacing, accent stripping, lower-casing.

        Example:
            >>> tok = BertTokenizer.from_pretrained("checkpoints/all-MiniLM-L6-v2")
            >>> tok.normalize(tf.constant(["Café\\u200b CRÈME"])).numpy()
            array([b'cafe creme'], dtype=object)
        """
        import tensorflow_text as tf_text

        strings = tf.strings.regex_replace(strings, r"[\t\n\r]", " ")
        strings = tf.strings.regex_replace(strings, _REMOVED, "")
        strings = tf.strings.regex_replace(strings, _SPACES, " ")
        if self.chinese_chars:
            strings = tf.strings.regex_replace(strings, "(" + _CJK + ")", r" \1 ")
        if self.lowercase if self.strip_accents is None else self.strip_accents:
            strings = tf.strings.regex_replace(tf_text.normalize_utf8(strings, "NFD"), r"\p{Mn}", "")
        if self.lowercase:
            # Hugging Face lower-cases each character alone; ICU's word-aware lowering would turn a
            # word-final capital sigma into the final form, which is another token.
            strings = tf.strings.lower(tf.strings.regex_replace(strings, "\u03a3", "\u03c3"), encoding="utf-8")
        return strings

    @_graph_method
    def words(self, strings):
        """Normalised words and punctuation marks: ``tf.RaggedTensor`` of strings ``[batch, None]``."""
        import tensorflow_text as tf_text

        return tf_text.regex_split(self.normalize(strings), delim_regex_pattern=f"[ ]|{_PUNCTUATION}",
                                   keep_delim_regex_pattern=_PUNCTUATION)

    def _ids(self, strings):
        """WordPiece ids of the text alone (no special tokens): ragged int32 ``[batch, None]``."""
        words = self.words(strings)
        too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > MAX_WORD_CHARS
        # The unknown token's own text is a vocabulary entry, so WordPiece maps it to the unknown id.
        flat = tf.where(too_long, self._special_tokens["unk"], words.flat_values)
        return self._wordpiece.tokenize(words.with_flat_values(flat)).merge_dims(1, 2)

    @_graph_method
    def tokenize(self, strings):
        """``[CLS] text [SEP]`` ids of ``tf.string`` input (graph-safe: tf.data, tf.function, SavedModel).

        Args:
            strings: ``tf.string`` tensor ``[batch]`` (or a scalar).

        Returns:
            ``tf.RaggedTensor`` int32 ``[batch, None]`` (a 1-D tensor for a scalar input).

        Example:
            >>> tok = BertTokenizer.from_pretrained("checkpoints/all-MiniLM-L6-v2")
            >>> tok.tokenize(tf.constant(["Hello!"]))
            <tf.RaggedTensor [[101, 7592, 999, 102]]>
        """
        self._require_fitted()
        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        if strings.shape.rank == 0:
            return self.tokenize(tf.reshape(strings, [1]))[0]
        return self._combine([self._ids(strings)])[0]

    def _combine(self, segments):
        import tensorflow_text as tf_text

        return tf_text.combine_segments(segments, start_of_sequence_id=self.cls_id, end_of_segment_id=self.sep_id)

    @_graph_method
    def pack(self, first, second=None, *, sequence_length):
        """Model inputs for texts or text pairs: ``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``, padded.

        Too long inputs are truncated as Hugging Face's ``longest_first`` does: a single text keeps its first
        ``sequence_length - 2`` tokens; of a pair, the shorter text stays whole if it fits in half the room
        and the longer one gets the rest, else both get half (the longer one, or the second on a tie, the odd
        token).

        Args:
            first: ``tf.string`` ``[batch]``.
            second: ``tf.string`` ``[batch]`` of second texts, or ``None``.
            sequence_length: Length ``T`` of every row, special tokens included.

        Returns:
            ``{"token_ids": int32 [batch, T], "segment_ids": int32 [batch, T] (0 for [CLS] A [SEP], 1 for
            B [SEP]), "padding_mask": bool [batch, T] (True on tokens)}``.

        Example:
            >>> tok = BertTokenizer.from_pretrained("checkpoints/all-MiniLM-L6-v2")
            >>> tok.pack(tf.constant(["is it good?"]), tf.constant(["yes"]), sequence_length=8)["token_ids"].numpy()
            array([[ 101, 2003, 2009, 2204, 1029,  102, 2748,  102]], dtype=int32)
        """
        import tensorflow_text as tf_text

        self._require_fitted()
        texts = [tf.convert_to_tensor(first, dtype=tf.string)]
        if second is not None:
            texts.append(tf.convert_to_tensor(second, dtype=tf.string))
        if isinstance(sequence_length, bool) or not isinstance(sequence_length, (int, np.integer)):
            raise VocabularyError(f"sequence_length must be a whole number of tokens, not {sequence_length!r}")
        room = int(sequence_length) - len(texts) - 1
        if room < 1:
            raise VocabularyError(f"sequence_length={sequence_length} leaves no room for text after the "
                                  f"{len(texts) + 1} special tokens")
        segments = [self._ids(t) for t in texts]
        if len(segments) == 1:
            segments = [segments[0][:, :room]]
        else:
            segments = self._longest_first(*segments, room)
        ids, segment_ids = self._combine(segments)
        token_ids, mask = tf_text.pad_model_inputs(ids, sequence_length, pad_value=self.pad_id)
        segment_ids, _ = tf_text.pad_model_inputs(segment_ids, sequence_length, pad_value=0)
        return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": tf.cast(mask, tf.bool)}

    @staticmethod
    def _longest_first(a, b, room):
        """Truncate two ragged segments to at most ``room`` tokens together (tokenizers' ``LongestFirst``)."""
        len_a, len_b = a.row_lengths(), b.row_lengths()
        shorter = tf.minimum(len_a, len_b)
        half, odd = room // 2, room % 2
        fits = len_a + len_b <= room
        short_fits = 2 * shorter <= room
        keep_short = tf.where(short_fits, shorter, half)
        keep_long = tf.where(short_fits, room - shorter, half + odd)
        a_longer = len_a > len_b
        keep_a = tf.where(fits, len_a, tf.where(a_longer, keep_long, keep_short))
        keep_b = tf.where(fits, len_b, tf.where(a_longer, keep_short, keep_long))
        return [tf.ragged.boolean_mask(a, tf.ragged.range(len_a) < keep_a[:, None]),
                tf.ragged.boolean_mask(b, tf.ragged.range(len_b) < keep_b[:, None])]

    @_graph_method
    def encode(self, strings, sequence_length):
        """``[CLS] text [SEP]`` ids cut (keeping ``[SEP]``) and padded to ``sequence_length``: int32 ``[batch, T]``.

        Example:
            >>> tok = BertTokenizer.from_pretrained("checkpoints/all-MiniLM-L6-v2")
            >>> tok.encode(tf.constant(["Hello!"]), 6).numpy()
            array([[ 101, 7592,  999,  102,    0,    0]], dtype=int32)
        """
        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        if strings.shape.rank == 0:
            return self.encode(tf.reshape(strings, [1]), sequence_length)[0]
        return self.pack(strings, sequence_length=sequence_length)["token_ids"]

    # --- saving
    def config(self):
        """The plain-data description written to ``tokenizer.json`` (the vocabulary goes to ``vocab.txt``)."""
        return {"format_version": FORMAT_VERSION, "kind": self.kind, "lowercase": self.lowercase,
                "strip_accents": self.strip_accents, "chinese_chars": self.chinese_chars,
                "special_tokens": self.special_tokens}

    def __repr__(self):
        size = len(self._vocabulary) if self.fitted else "no vocabulary"
        return (f"BertTokenizer(vocab_size={size}, lowercase={self.lowercase}, strip_accents={self.strip_accents}, "
                f"chinese_chars={self.chinese_chars})")
