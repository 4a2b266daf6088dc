"""The serving graph: raw strings → clean → tokenize → pad → model → probabilities and labels.

The same ``tf.function``s run in memory (``zoo predict RUN_DIR``, ``zoo evaluate``) and inside the
exported SavedModel, so what is evaluated is exactly what is served.

Bad input gets a defined answer, the same in memory, in the SavedModel and from ``zoo predict``:

- a text with nothing left after cleaning (``""``, ``"<br />"``) is predicted like an all-padding row, and
  flagged ``empty_input``; a sentence pair is flagged when either of its texts has nothing left (a pair with
  one side missing is as meaningless to the model), and predicted on what is left;
- invalid UTF-8 bytes are replaced by U+FFFD (as Python's ``errors="replace"``), and the text is flagged
  ``replaced_bytes``;
- a text (or pair) with more tokens than the model reads is cut to ``sequence_length`` as training cut it
  (special tokens kept; a pair longest first), and flagged ``truncated``;
- a batch of the wrong rank (a scalar string, a 2-D tensor) is an ``InvalidArgumentError`` from the node
  ``texts_must_be_a_1-D_batch_of_strings`` (``token_ids_must_be_a_2-D_batch`` for ids).
"""
import collections

import tensorflow as tf

from zoo.data.labeled import LABEL_SEPARATOR, joined_label_problem, pair_segment_problem
from zoo.evaluation.metrics import MULTILABEL_THRESHOLD, check_threshold
from zoo.layers.heads import MODES

TEXT_SPEC = tf.TensorSpec([None], tf.string, name="texts")
IDS_SPEC = tf.TensorSpec([None, None], tf.int32, name="token_ids")
# Sentence-pair models take the two texts of each pair as two inputs (the data columns' names).
PAIR_SPECS = [tf.TensorSpec([None], tf.string, name="text_a"), tf.TensorSpec([None], tf.string, name="text_b")]
SEGMENT_IDS_SPEC = tf.TensorSpec([None, None], tf.int32, name="segment_ids")


def valid_utf8(texts):
    """``(texts with invalid UTF-8 replaced, whether each text had such bytes)``, for ``texts`` ``tf.string [B]``."""
    # Invalid UTF-8 bytes would reach the tokenizer as they are, and each string op treats them its
    # own way; replacing them with U+FFFD (Python's errors="replace") gives them one defined meaning.
    valid = tf.strings.unicode_transcode(
        texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD, replace_control_characters=False
    )
    return valid, tf.not_equal(valid, texts)


def checked_texts(texts, name="texts_must_be_a_1-D_batch_of_strings"):
    """``valid_utf8`` of a signature's string input, its rank checked first.

    The signature says ``[None]``, but a loaded SavedModel does not enforce it (a 2-D batch would fail deep in the
    tokenizer); ``EnsureShape`` does, and its node ``name`` says what is expected.
    """
    return valid_utf8(tf.ensure_shape(texts, [None], name=name))


def check_tokenizer(tokenizer):
    """Raise a ValueError unless ``tokenizer`` is a zoo tokenizer (one that ``tokenize``\ s strings in the graph).

    Example:
        >>> check_tokenizer(None)
        Traceback (most recent call last):
        ...
        ValueError: tokenizer must be the zoo tokenizer the model was trained with (zoo.load_run returns it beside the \
model), got None
    """
    if not callable(getattr(tokenizer, "tokenize", None)) or not hasattr(tokenizer, "pad_id"):
        raise ValueError("tokenizer must be the zoo tokenizer the model was trained with (zoo.load_run returns it "
                         f"beside the model), got {tokenizer!r:.80}")


class TextEndpoint:
    """Base of the serving graphs with one signature, ``serve_text``: raw strings in; a subclass's
    ``_outputs(valid texts)`` and the ``replaced_bytes`` flag out. A subclass calls ``__init__`` last."""

    def __init__(self):
        self.serve_text = tf.function(self._serve_text, input_signature=[TEXT_SPEC], autograph=False)

    def endpoints(self):
        """``{signature name: tf.function}``: raw strings in, the SavedModel's ``serving_default``."""
        return {"serve_text": self.serve_text}

    def _serve_text(self, texts):
        valid, replaced = checked_texts(texts)
        return {**self._outputs(valid), "replaced_bytes": replaced}

    def _outputs(self, texts):
        raise NotImplementedError


def label_id_output(mode):
    """The output naming a prediction's class ids: ``label_id`` (``[B]``, the decided class), or for a multi-label
    model ``label_ids`` (``[B, C]`` multi-hot: 1 for each label at or over the threshold, as ``label`` joins them)."""
    return "label_ids" if mode == "multilabel" else "label_id"


def logits_to_probabilities(logits, mode):
    """Turn model logits into ``[B, C]`` class probabilities (binary: ``[1 - p, p]``)."""
    logits = tf.cast(logits, tf.float32)
    if mode == "multiclass":
        return tf.nn.softmax(logits, axis=-1)
    positive = tf.sigmoid(logits)
    if mode == "binary":
        return tf.concat([1.0 - positive, positive], axis=-1)
    return positive


class ServingGraph:
    """Holds the model, tokenizer and label vocabulary, and the two serving ``tf.function``s.

    What it needs of the model it reads from the attributes every zoo classifier has: ``mode``,
    ``sequence_length`` (position range), ``masks_padding``, ``vocab_size``, ``pad_id`` and ``num_segments``.
    Texts are padded with the tokenizer's ``pad_id``, which must be the model's.

    Args:
        model: a built zoo classifier (int ids ``[B, T]`` → logits).
        tokenizer: a zoo tokenizer whose ``tokenize(tf.string [B])`` returns ragged ids ``[B, None]``
            and which cleans its input the way training did.
        label_names: class names in id order.
        sequence_length: longest id sequence fed to the model; longer inputs are truncated; ``None``
            uses the model's position range.
        mode: ``multiclass``, ``binary`` or ``multilabel``; the model's ``mode`` when ``None``.
        pairs: The model classifies sentence pairs: texts come as two inputs, ``text_a`` and ``text_b``,
            packed ``[CLS] A [SEP] B [SEP]`` with segment ids (the tokenizer must ``pack``).
        threshold: The decision threshold (``zoo.evaluation.metrics.predicted_ids``): two classes, the second's
            probability from which ``label`` is the second class (default: the most probable class); multi-label,
            each label's (default ``MULTILABEL_THRESHOLD``).

    A tokenizer that packs (``BertTokenizer``) makes the model's inputs exactly as training did, truncation
    included (``[SEP]`` kept); others tokenize and cut each row to ``sequence_length``.

    Example:
        >>> model, tokenizer, labels, _ = zoo.load_run("runs/reviews")
        >>> graph = ServingGraph(model, tokenizer, labels)
        >>> outputs = graph.serve_text(tf.constant(["a gripping, funny film", ""]))
        >>> outputs["label"].numpy(), outputs["empty_input"].numpy()
        (array([b'positive', b'negative'], dtype=object), array([False,  True]))
    """

    def __init__(self, model, tokenizer, label_names, sequence_length=None, mode=None, pairs=False, threshold=None):
        check_tokenizer(tokenizer)
        self.model = model
        self.tokenizer = tokenizer
        self.packs = callable(getattr(tokenizer, "pack", None))
        self.pairs = bool(pairs)
        if self.pairs and not self.packs:
            raise ValueError(f"sentence pairs need a tokenizer that packs pairs (BertTokenizer); the tokenizer is "
                             f"{type(tokenizer).__name__}")
        segments = pair_segment_problem(model.num_segments) if self.pairs else None
        if segments:
            raise ValueError(f"model {model.name!r} cannot serve sentence pairs: {segments}")
        self.mode = model.mode if mode is None else mode
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        self.label_names = [str(n) for n in label_names]
        repeated = [name for name, count in collections.Counter(self.label_names).items() if count > 1]
        if repeated:
            # Predictions report probabilities by label name: a repeated name would hide a class's probability.
            ids = [str(i) for i, name in enumerate(self.label_names) if name == repeated[0]]
            raise ValueError(f"label name {repeated[0]!r} is given {len(ids)} times (ids {', '.join(ids)}); each "
                             "class needs its own name")
        if self.mode == "binary" and len(self.label_names) != 2:
            raise ValueError(f"binary mode needs exactly 2 label names, got {self.label_names}")
        problem = joined_label_problem(self.label_names) if self.mode == "multilabel" else None
        if problem:
            raise ValueError(problem)
        check_threshold(threshold, self.label_names, multilabel=self.mode == "multilabel")
        self.threshold = None if threshold is None else float(threshold)
        units = int(model.outputs[0].shape[-1])
        expected = 1 if self.mode == "binary" else len(self.label_names)
        if units != expected:
            count = len(self.label_names)
            raise ValueError(
                f"model {model.name!r} outputs {units} logit{'s' * (units != 1)}, but {count} label "
                f"name{'s' * (count != 1)} {self.label_names} in {self.mode} mode need {expected}: give the label "
                "names the model was trained with"
            )
        limit = model.sequence_length
        if sequence_length is None and limit is None:
            raise ValueError(f"cannot tell the sequence length of model {model.name!r} (it has no position range); "
                             "pass sequence_length=")
        self.sequence_length = limit if sequence_length is None else int(sequence_length)
        if self.sequence_length < 1 or (limit is not None and self.sequence_length > limit):
            raise ValueError(f"sequence_length must be in [1, {limit}] for model {model.name!r} (its position "
                             f"range), got {self.sequence_length}")
        if tokenizer.pad_id != model.pad_id:
            raise ValueError(f"the tokenizer pads with id {tokenizer.pad_id} but model {model.name!r} masks id "
                             f"{model.pad_id}: build the model with pad_id={tokenizer.pad_id}")
        self.pad_id = model.pad_id
        self.vocab_size = model.vocab_size
        # A model that ignores padding is served each batch padded only to its longest row; others (e.g. the
        # CNN, whose max-over-time pooling sees padded positions) get the fixed length they were trained with.
        self.pad_to_longest = model.masks_padding
        # Tokens even an empty text gets (a [CLS] prefix): a row with no more than these holds no input.
        self._framing = int(tf.size(tokenizer.tokenize(tf.constant([""])).flat_values))
        self._labels = tf.constant(self.label_names, dtype=tf.string)
        # Every branch is on Python values or an explicit tf.cond: autograph would only add tracing time.
        self.serve_text = tf.function(self._serve_text, input_signature=[TEXT_SPEC], autograph=False)
        self.serve_pairs = tf.function(self._serve_pairs, input_signature=PAIR_SPECS, autograph=False)
        self.serve_ids = tf.function(self._serve_ids, input_signature=[IDS_SPEC], autograph=False)
        self.serve_segment_ids = tf.function(self._serve_segment_ids, input_signature=[IDS_SPEC, SEGMENT_IDS_SPEC],
                                             autograph=False)

    def endpoints(self):
        """Return ``{signature name: tf.function}``, each with its input signature: what a SavedModel serves.

        The first entry, raw strings in (two inputs for pairs), becomes the SavedModel's ``serving_default``.
        """
        if self.pairs:
            return {"serve_text_pairs": self.serve_pairs, "serve_token_ids": self.serve_segment_ids}
        return {"serve_text": self.serve_text, "serve_token_ids": self.serve_ids}

    def _tokens(self, texts, text_pairs=None):
        """``(ids [B, T], segment_ids [B, T], flags)`` of raw strings (or pairs); ``flags``: ``empty_input``,
        ``replaced_bytes`` and ``truncated``, each ``[B]``.

        A tokenizer that packs gives the model's inputs exactly as training packed them, cut to the longest
        row; others tokenize and cut each row to ``sequence_length`` (segment ids 0).
        """
        valid, replaced = checked_texts(texts)
        if not self.packs:
            ragged = self.tokenizer.tokenize(valid)
            ids = tf.cast(ragged[:, : self.sequence_length].to_tensor(default_value=self.pad_id), tf.int32)
            lengths = ragged.row_lengths()
            return ids, tf.zeros_like(ids), self._flags(lengths <= self._framing, replaced,
                                                        lengths > self.sequence_length)
        second = None
        if text_pairs is not None:
            second, replaced_b = checked_texts(text_pairs, name="text_b_must_be_a_1-D_batch_of_strings")
            # Unchecked, batches of different sizes failed deep in the tokenizer, naming neither input.
            check = tf.debugging.assert_equal(tf.size(valid), tf.size(second),
                                              message="text_a and text_b must hold as many texts (a pair per row)")
            # Everything that combines the two batches runs after the check (the flags' `or` failed first).
            with tf.control_dependencies([check]):
                valid, second = tf.identity(valid), tf.identity(second)
                replaced = replaced | replaced_b
        packed = self.tokenizer.pack(valid, second, sequence_length=self.sequence_length)
        real = tf.reduce_sum(tf.cast(packed["padding_mask"], tf.int32), axis=1)
        width = tf.reduce_max(real)
        empty = self._empty(packed["padding_mask"], None if second is None else packed["segment_ids"])
        truncated = self._cut(real >= self.sequence_length, valid, second)
        return packed["token_ids"][:, :width], packed["segment_ids"][:, :width], self._flags(empty, replaced,
                                                                                              truncated)

    @staticmethod
    def _flags(empty, replaced, truncated):
        return {"empty_input": empty, "replaced_bytes": replaced, "truncated": truncated}

    def _cut(self, full, texts, text_pairs):
        """``[B]`` whether packing cut a row, of the rows that fill ``sequence_length`` (``full``).

        ``pack`` does not say what it cut; only a full row can have been cut, so only full rows, if any, are
        tokenized again (the common batch, all rows shorter, pays one comparison).
        """
        def count():
            rows = tf.where(full)[:, 0]
            # tokenize() frames a text as [CLS] text [SEP]; a pair adds the second text and its [SEP] only.
            tokens = self.tokenizer.tokenize(tf.gather(texts, rows)).row_lengths()
            if text_pairs is not None:
                tokens += self.tokenizer.tokenize(tf.gather(text_pairs, rows)).row_lengths() - 1
            return tf.scatter_nd(rows[:, None], tokens > self.sequence_length, tf.shape(full, out_type=tf.int64))

        return tf.cond(tf.reduce_any(full), count, lambda: tf.zeros_like(full))

    def _empty(self, real, segment_ids=None):
        """``[B]`` whether a row holds no input: no tokens beyond the framing (``real`` ``[B, T]`` marks its tokens).

        With a pair's ``segment_ids`` (0 on ``[CLS] A [SEP]``, 1 on ``B [SEP]``), whether either text has none.
        """
        real = tf.cast(real, tf.int32)
        if segment_ids is None:
            return tf.reduce_sum(real, axis=1) <= self._framing
        second = real * tf.cast(tf.equal(segment_ids, 1), tf.int32)
        # The first text is framed as a single text is; the second adds only its [SEP].
        return (tf.reduce_sum(real - second, axis=1) <= self._framing) | (tf.reduce_sum(second, axis=1) <= 1)

    def inputs_of(self, texts, text_pairs=None):
        """``(token_ids, segment_ids)`` the model reads for ``texts`` (and their ``text_pairs``), as served.

        Example:
            >>> graph = ServingGraph(*zoo.load_run("runs/reviews")[:3])
            >>> ids, segments = graph.inputs_of(["a gripping, funny film", "a dull film"])
            >>> ids.numpy()
            array([[ 8, 37,  1, 35, 12],
                   [ 8, 26, 12,  0,  0]], dtype=int32)
        """
        pairs = None if text_pairs is None else tf.constant(text_pairs, tf.string)
        return self._tokens(tf.constant(texts, tf.string), pairs)[:2]

    def _outputs(self, ids, segment_ids=None):
        # A model that masks padding sees each batch padded to its longest row (less work for short
        # texts), never to width zero (an empty batch or only empty strings); others see the training length.
        width = tf.shape(ids)[1]
        target = tf.maximum(width, 1) if self.pad_to_longest else tf.constant(self.sequence_length)
        ids = tf.pad(ids, [[0, 0], [0, target - width]], constant_values=self.pad_id)
        if self.model.num_segments:
            # Single texts are segment 0; padding positions are masked, their segment does not matter.
            segment_ids = tf.zeros_like(ids) if segment_ids is None else tf.pad(segment_ids,
                                                                               [[0, 0], [0, target - width]])
            inputs = {"token_ids": ids, "segment_ids": segment_ids}
        else:
            inputs = ids
        logits = self.model(inputs, training=False)
        probabilities = logits_to_probabilities(logits, self.mode)
        if self.mode == "multilabel":
            # Each label is decided on its own, so one class id (an argmax) would contradict the label string
            # wherever it holds no label or several: the ids are multi-hot, as the label string.
            chosen = probabilities >= (MULTILABEL_THRESHOLD if self.threshold is None else self.threshold)
            names = tf.ragged.boolean_mask(tf.broadcast_to(self._labels, tf.shape(probabilities)), chosen)
            label = tf.strings.reduce_join(names, axis=-1, separator=LABEL_SEPARATOR)
            return {"probabilities": probabilities, "label_ids": tf.cast(chosen, tf.int64), "label": label}
        if self.threshold is None:
            label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
        else:
            label_id = tf.cast(probabilities[:, 1] >= self.threshold, tf.int64)
        return {"probabilities": probabilities, "label_id": label_id, "label": tf.gather(self._labels, label_id)}

    def _serve_text(self, texts):
        ids, segment_ids, flags = self._tokens(texts)
        return {**self._outputs(ids, segment_ids), **flags}

    def _serve_pairs(self, text_a, text_b):
        ids, segment_ids, flags = self._tokens(text_a, text_b)
        return {**self._outputs(ids, segment_ids), **flags}

    def _serve_segment_ids(self, token_ids, segment_ids):
        checks = [tf.debugging.assert_equal(tf.shape(token_ids), tf.shape(segment_ids),
                                            message="token_ids and segment_ids must have the same shape"),
                  tf.debugging.assert_non_negative(segment_ids, message="segment ids must be >= 0"),
                  tf.debugging.assert_less(segment_ids, tf.constant(self.model.num_segments, tf.int32),
                                           message=f"segment ids must be < {self.model.num_segments}")]
        with tf.control_dependencies(checks):
            segment_ids = tf.identity(segment_ids[:, : self.sequence_length])
        return self._id_outputs(*self._checked_ids(token_ids), segment_ids)

    def _serve_ids(self, token_ids):
        return self._id_outputs(*self._checked_ids(token_ids))

    def _id_outputs(self, token_ids, truncated, segment_ids=None):
        empty = self._empty(token_ids != self.pad_id, segment_ids)
        return {**self._outputs(token_ids, segment_ids), **self._flags(empty, tf.zeros_like(empty), truncated)}

    def _checked_ids(self, token_ids):
        """``(token_ids cut to sequence_length, whether each row had tokens beyond it)``, once they are known to be
        ids of the vocabulary."""
        token_ids = tf.ensure_shape(token_ids, [None, None], name="token_ids_must_be_a_2-D_batch")
        checks = [
            tf.debugging.assert_non_negative(
                token_ids, message=f"token ids must be >= 0 ({self.pad_id} is padding)"),
            tf.debugging.assert_less(
                token_ids, tf.constant(self.vocab_size, tf.int32),
                message=f"token ids must be < vocab_size {self.vocab_size}",
            ),
        ]
        with tf.control_dependencies(checks):
            beyond = tf.reduce_any(token_ids[:, self.sequence_length:] != self.pad_id, axis=1)
            return tf.identity(token_ids[:, : self.sequence_length]), beyond

