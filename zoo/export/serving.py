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
import keras
import tensorflow as tf

from zoo.data.labeled import LABEL_SEPARATOR
from zoo.layers import ClassificationHead, TokenAndPositionEmbedding
from zoo.layers.heads import MODES
MULTILABEL_THRESHOLD = 0.5
TEXT_SPEC = tf.TensorSpec([None], tf.string, name="texts")
IDS_SPEC = tf.TensorSpec([None, None], tf.int32, name="token_ids")


def output_mode(model, default=None):
    """Return the model's output mode (``multiclass``, ``binary`` or ``multilabel``).

    A :class:`zoo.layers.ClassificationHead` says it; otherwise ``default``, or, as training assumes,
    ``binary`` for one logit and ``multiclass`` for more.

    Args:
        model: a zoo classifier.
        default: the mode of a model without a ``ClassificationHead``.

    Example:
        >>> output_mode(zoo.build_transformer(100, 16, num_classes=2, mode="binary"))
        'binary'
    """
    heads = [layer for layer in model.layers if isinstance(layer, ClassificationHead)]
    if heads:
        return heads[-1].mode
    if default is not None:
        return default
    return "binary" if model.outputs[0].shape[-1] == 1 else "multiclass"


def default_sequence_length(model):
    """Return the longest id sequence ``model`` was built for (its position-embedding range).

    Example:
        >>> default_sequence_length(zoo.build_transformer(100, 64))
        64
    """
    for layer in model.layers:
        if isinstance(layer, TokenAndPositionEmbedding):
            return int(layer.sequence_length)
    length = model.inputs[0].shape[1]
    if length is None:
        raise ValueError(f"cannot tell the sequence length of model {model.name!r}; pass sequence_length=")
    return int(length)


def masks_padding(model):
    """Whether ``model`` ignores padding (its token embedding masks id 0), so any pad length gives the same output.

    Such models are served with each batch padded only to its longest row; others (e.g. the CNN baseline,
    whose max-over-time pooling sees padded positions) get the fixed length they were trained with.

    Example:
        >>> masks_padding(zoo.build("transformer-tiny")), masks_padding(zoo.build("cnn"))
        (True, False)
    """
    for layer in model.layers:
        if isinstance(layer, (TokenAndPositionEmbedding, keras.layers.Embedding)):
            return bool(layer.mask_zero)
    return False


def _has_fixed_length(model):
    return model.inputs[0].shape[1] is not None or any(
        isinstance(layer, TokenAndPositionEmbedding) for layer in model.layers)


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

    Args:
        model: a built zoo classifier (int ids ``[B, T]`` → logits).
        tokenizer: a zoo tokenizer whose ``tokenize(tf.string [B])`` returns ragged ids ``[B, None]``
            and which cleans its input the way training did.
        label_names: class names in id order.
        sequence_length: longest id sequence fed to the model; longer inputs are truncated; ``None``
            uses the model's position range.
        mode: ``multiclass``, ``binary`` or ``multilabel``; read from the model's head when ``None``.

    Example:
        >>> graph = ServingGraph(model, tokenizer, ["neg", "pos"], sequence_length=128)
        >>> graph.serve_text(tf.constant(["a fine film"]))["label"]
    """

    def __init__(self, model, tokenizer, label_names, sequence_length=None, mode=None):
        self.model = model
        self.tokenizer = tokenizer
        self.mode = output_mode(model) if mode is None else mode
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
        limit = default_sequence_length(model) if sequence_length is None or _has_fixed_length(model) else None
        self.sequence_length = limit if sequence_length is None else int(sequence_length)
        if self.sequence_length < 1 or (limit is not None and self.sequence_length > limit):
            raise ValueError(f"sequence_length must be in [1, {limit}] for model {model.name!r} (its position "
                             f"range), got {self.sequence_length}")
        self.vocab_size = _vocab_size(model)
        self.pad_to_longest = masks_padding(model)
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
        ids = tf.cast(ragged[:, : self.sequence_length].to_tensor(default_value=0), tf.int32)
        return ids, empty, tf.not_equal(valid, texts)

    def _text_to_ids(self, texts):
        return self._tokens(texts)[0]

    def _outputs(self, ids):
        # A model that masks padding sees each batch padded to its longest row (less work for short
        # texts), never to width zero (an empty batch or only empty strings); others see the training length.
        width = tf.shape(ids)[1]
        target = tf.maximum(width, 1) if self.pad_to_longest else tf.constant(self.sequence_length)
        ids = tf.pad(ids, [[0, 0], [0, target - width]])
        logits = self.model(ids, training=False)
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
            tf.debugging.assert_non_negative(token_ids, message="token ids must be >= 0 (0 is padding)"),
            tf.debugging.assert_less(
                token_ids, tf.constant(self.vocab_size, tf.int32),
                message=f"token ids must be < vocab_size {self.vocab_size}",
            ),
        ]
        with tf.control_dependencies(checks):
            token_ids = tf.identity(token_ids[:, : self.sequence_length])
        empty = tf.reduce_sum(tf.cast(token_ids != 0, tf.int32), axis=1) <= self._framing
        return {**self._outputs(token_ids), "empty_input": empty, "replaced_bytes": tf.zeros_like(empty)}


def _vocab_size(model):
    for layer in model.layers:
        if isinstance(layer, TokenAndPositionEmbedding):
            return int(layer.vocab_size)
        if isinstance(layer, keras.layers.Embedding):
            return int(layer.input_dim)
    raise ValueError(f"cannot find the token embedding of model {model.name!r} to read its vocabulary size")
