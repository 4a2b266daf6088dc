"""The serving graph: raw strings → clean → tokenize → pad → model → probabilities and labels.

The same ``tf.function``s run in memory (``zoo predict RUN_DIR``, ``zoo evaluate``) and inside the
exported SavedModel, so what is evaluated is exactly what is served.

Bad input gets a defined answer, the same in memory, in the SavedModel and from ``zoo predict``:

- a text with nothing left after cleaning (``""``, ``"<br />"``) is predicted like an all-padding row, and
  flagged ``empty_input``;
- invalid UTF-8 bytes are replaced by U+FFFD (as Python's ``errors="replace"``), and the text is flagged
  ``replaced_bytes``;
- a batch of the wrong rank (a scalar string, a 2-D tensor) is an ``InvalidArgumentError`` from the node
  ``texts_must_be_a_1-D_batch_of_strings`` (``token_ids_must_be_a_2-D_batch`` for ids).
"""
import tensorflow as tf

from zoo.data.labeled import LABEL_SEPARATOR
from zoo.layers.heads import MODES

MULTILABEL_THRESHOLD = 0.5
TEXT_SPEC = tf.TensorSpec([None], tf.string, name="texts")
IDS_SPEC = tf.TensorSpec([None, None], tf.int32, name="token_ids")


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

    Example:
        >>> graph = ServingGraph(model, tokenizer, ["neg", "pos"], sequence_length=128)
        >>> graph.serve_text(tf.constant(["a fine film"]))["label"]
    """

    def __init__(self, model, tokenizer, label_names, sequence_length=None, mode=None):
        self.model = model
        self.tokenizer = tokenizer
        self.mode = model.mode if mode is None else mode
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        self.label_names = [str(n) for n in label_names]
        if self.mode == "binary" and len(self.label_names) != 2:
            raise ValueError(f"binary mode needs exactly 2 label names, got {self.label_names}")
        units = int(model.outputs[0].shape[-1])
        expected = 1 if self.mode == "binary" else len(self.label_names)
        if units != expected:
            raise ValueError(
                f"model {model.name!r} outputs {units} logits but {len(self.label_names)} labels "
                f"{self.label_names} in {self.mode} mode need {expected}"
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
        self.serve_text = tf.function(self._serve_text, input_signature=[TEXT_SPEC])
        self.serve_ids = tf.function(self._serve_ids, input_signature=[IDS_SPEC])
        self.text_to_ids = tf.function(self._text_to_ids, input_signature=[TEXT_SPEC])

    def endpoints(self):
        """Return ``{signature name: (python function, input signature)}`` for ``ExportArchive.add_endpoint``.

        The first entry, raw strings in, becomes the SavedModel's ``serving_default``.
        """
        return {"serve_text": (self._serve_text, [TEXT_SPEC]), "serve_token_ids": (self._serve_ids, [IDS_SPEC])}

    def _tokens(self, texts):
        """``(ids [B, T], empty_input [B], replaced_bytes [B])`` of a batch of raw strings."""
        # The signature says [None], but a loaded SavedModel does not enforce it (a 2-D batch would fail deep
        # in the tokenizer); EnsureShape does, and its node name says what is expected.
        texts = tf.ensure_shape(texts, [None], name="texts_must_be_a_1-D_batch_of_strings")
        # Invalid UTF-8 bytes would reach the tokenizer as they are, and each string op treats them its
        # own way; replacing them with U+FFFD (Python's errors="replace") gives them one defined meaning.
        valid = tf.strings.unicode_transcode(
            texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD, replace_control_characters=False
        )
        ragged = self.tokenizer.tokenize(valid)
        empty = ragged.row_lengths() <= self._framing
        ids = tf.cast(ragged[:, : self.sequence_length].to_tensor(default_value=self.pad_id), tf.int32)
        return ids, empty, tf.not_equal(valid, texts)

    def _text_to_ids(self, texts):
        return self._tokens(texts)[0]

    def _outputs(self, ids):
        # A model that masks padding sees each batch padded to its longest row (less work for short
        # texts), never to width zero (an empty batch or only empty strings); others see the training length.
        width = tf.shape(ids)[1]
        target = tf.maximum(width, 1) if self.pad_to_longest else tf.constant(self.sequence_length)
        ids = tf.pad(ids, [[0, 0], [0, target - width]], constant_values=self.pad_id)
        # Single texts are segment 0 of a model that takes segments.
        inputs = {"token_ids": ids, "segment_ids": tf.zeros_like(ids)} if self.model.num_segments else ids
        logits = self.model(inputs, training=False)
        probabilities = logits_to_probabilities(logits, self.mode)
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
        if self.mode == "multilabel":
            chosen = tf.ragged.boolean_mask(
                tf.broadcast_to(self._labels, tf.shape(probabilities)), probabilities >= MULTILABEL_THRESHOLD
            )
            label = tf.strings.reduce_join(chosen, axis=-1, separator=LABEL_SEPARATOR)
        else:
            label = tf.gather(self._labels, label_id)
        return {"probabilities": probabilities, "label_id": label_id, "label": label}

    def _serve_text(self, texts):
        ids, empty, replaced = self._tokens(texts)
        return {**self._outputs(ids), "empty_input": empty, "replaced_bytes": replaced}

    def _serve_ids(self, token_ids):
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
            token_ids = tf.identity(token_ids[:, : self.sequence_length])
        empty = tf.reduce_sum(tf.cast(token_ids != self.pad_id, tf.int32), axis=1) <= self._framing
        return {**self._outputs(token_ids), "empty_input": empty, "replaced_bytes": tf.zeros_like(empty)}

