"""Text-classification head: mask-aware pooling, optional hidden layer, logits."""
import keras
from keras import ops

from zoo.layers import _validation as check
from zoo.layers.dropout import Dropout, dropout_rate

# "pooled": the input is already one vector per example (e.g. a backbone's `pooled_output`).
POOLING = ("cls", "mean", "max", "attention", "pooled")
# The output modes of a classifier, defined here once: training, evaluation and serving import them.
MODES = ("multiclass", "binary", "multilabel")
DEFAULT_MODE = "multiclass"


def output_units(num_classes, mode):
    """Return the number of logits for ``num_classes`` in ``mode`` (binary uses one logit)."""
    check.positive_int("num_classes", num_classes)
    check.choice("mode", mode, MODES)
    if mode == "binary":
        if num_classes not in (1, 2):
            raise ValueError(f"`mode`='binary' needs `num_classes` of 1 or 2, got {num_classes}")
        return 1
    if mode == "multiclass" and num_classes < 2:
        raise ValueError(f"`mode`='multiclass' needs `num_classes` >= 2, got {num_classes}")
    return num_classes


@keras.saving.register_keras_serializable(package="zoo")
class ClassificationHead(keras.layers.Layer):
    """Pools a sequence into one vector and maps it to class logits; padded positions never contribute.

    A sequence without real tokens pools to zeros (``mean``, ``max`` and ``attention``).

    With ``pooling="pooled"`` the input is already pooled (``[batch, features]``, e.g. BERT's tanh pooler output).

    Outputs float32 logits even under mixed precision: ``num_classes`` logits for ``multiclass`` (softmax)
    and ``multilabel`` (independent sigmoids), one logit for ``binary``.

    Args:
        num_classes: Number of classes (1 or 2 for ``binary``).
        pooling: ``cls`` (first token), ``mean``, ``max``, ``attention`` (learned weights over tokens) or
            ``pooled`` (inputs pooled already).
        mode: ``multiclass``, ``binary`` or ``multilabel``.
        hidden_dim: Size of an optional tanh hidden layer after pooling; ``None`` for none.
        dropout: Dropout rate before the output layer.
        kernel_initializer: Initializer of the dense kernels.
        **kwargs: Standard layer arguments.

    Example:
        >>> head = ClassificationHead(num_classes=3, pooling="mean")
        >>> x = keras.random.normal((2, 6, 16))
        >>> tuple(head(x, mask=ops.array([[1, 1, 1, 0, 0, 0], [1] * 6], "bool")).shape)
        (2, 3)
    """

    def __init__(self, num_classes, pooling="mean", mode="multiclass", hidden_dim=None, dropout=0.0,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.pooling = check.choice("pooling", pooling, POOLING)
        self.mode = check.choice("mode", mode, MODES)
        self.units = output_units(num_classes, mode)
        self.num_classes = int(num_classes)
        self.hidden_dim = check.positive_int("hidden_dim", hidden_dim, allow_none=True)
        self.dropout = dropout_rate("dropout", dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

    def build(self, input_shape):
        # Dense layers take any rank, so pooled-already inputs of rank 3 would give per-token logits silently.
        pooled = self.pooling == "pooled"
        if len(input_shape) != (2 if pooled else 3):
            layout = "[batch, features]" if pooled else "[batch, T, features]"
            raise ValueError(f"{self.name} with `pooling`={self.pooling!r} takes inputs {layout}, got shape "
                             f"{tuple(input_shape)}; `pooling`='pooled' is for inputs pooled already, the others "
                             "pool a sequence")
        features = input_shape[-1]
        policy = self.dtype_policy
        if self.pooling == "attention":
            # No bias: softmax over positions ignores a constant added to every score, so a bias would be a
            # weight that never receives a gradient.
            self.attention_score = keras.layers.Dense(
                1, use_bias=False, kernel_initializer=self.kernel_initializer, dtype=policy, name="attention_score")
            self.attention_score.build(input_shape)
        self.hidden = None
        if self.hidden_dim:
            self.hidden = keras.layers.Dense(
                self.hidden_dim, activation="tanh", kernel_initializer=self.kernel_initializer, dtype=policy,
                name="hidden")
            self.hidden.build((input_shape[0], features))
            features = self.hidden_dim
        self.dropout_layer = Dropout(self.dropout, dtype=policy)
        self.logits = keras.layers.Dense(
            self.units, kernel_initializer=self.kernel_initializer, dtype=policy, name="logits")
        self.logits.build((input_shape[0], features))
        self.built = True

    def pool(self, inputs, mask=None):
        """Pool ``[batch, T, features]`` to ``[batch, features]``, using only positions where ``mask`` is true."""
        if self.pooling == "pooled":
            return inputs
        if self.pooling == "cls":
            return inputs[:, 0]
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        mask = ops.cast(mask, "bool")
        if self.pooling == "mean":
            weights = ops.cast(mask, inputs.dtype)[..., None]
            total = ops.sum(inputs * weights, axis=1)
            count = ops.maximum(ops.sum(weights, axis=1), ops.cast(1, inputs.dtype))
            return total / count
        if self.pooling == "max":
            lowest = ops.cast(-1e4 if inputs.dtype in ("float16", "bfloat16") else -1e30, inputs.dtype)
            pooled = ops.max(ops.where(mask[..., None], inputs, lowest), axis=1)
            # A sequence with no real token pools to zeros rather than the fill value.
            has_token = ops.any(mask, axis=1)[:, None]
            return ops.where(has_token, pooled, ops.zeros_like(pooled))
        scores = ops.cast(ops.squeeze(self.attention_score(inputs), -1), "float32")
        scores = ops.where(mask, scores, -1e9)
        # Zeroed where masked: a sequence with no real token would otherwise spread uniform weights over its
        # padding; it pools to zeros, as with mean and max.
        weights = ops.where(mask, ops.softmax(scores, axis=-1), 0.0)
        return ops.einsum("bt,btf->bf", ops.cast(weights, inputs.dtype), inputs)

    def call(self, inputs, mask=None, training=None):
        x = self.pool(inputs, mask)
        if self.hidden is not None:
            x = self.hidden(x)
        x = self.dropout_layer(x, training=training)
        return ops.cast(self.logits(x), "float32")

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_classes": self.num_classes,
            "pooling": self.pooling,
            "mode": self.mode,
            "hidden_dim": self.hidden_dim,
            "dropout": self.dropout,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        })
        return config
