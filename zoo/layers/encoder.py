"""Transformer encoder block."""
import keras

from zoo.layers import _validation as check
from zoo.layers.packing import Packing, packing_supported
from zoo.layers._residual import residual_sublayer
from zoo.layers.attention import MultiHeadAttention
from zoo.layers.dropout import Dropout, dropout_rate
from zoo.layers.feedforward import ACTIVATIONS, FeedForward
from zoo.layers.normalization import LayerNormalization


@keras.saving.register_keras_serializable(package="zoo")
class TransformerEncoderBlock(keras.layers.Layer):
    """Self-attention and feed-forward sub-layers, each wrapped in a residual connection and layer norm.

    Takes the padding mask ``mask`` ``[batch, T]`` (a ``Backbone`` passes its ``padding_mask``) and passes it on
    unchanged.

    Args:
        d_model: Feature size of inputs and outputs.
        num_heads: Attention heads; must divide ``d_model``.
        ff_dim: Hidden size of the feed-forward network.
        dropout: Dropout rate on each sub-layer's output before the residual add.
        attention_dropout: Dropout rate on attention probabilities (default off; expensive).
        activation: Feed-forward activation: ``relu``, ``gelu`` (exact), ``gelu_tanh``, ``leaky_relu`` or ``swish``.
        norm_first: Pre-LN (normalise before each sub-layer) if true, post-LN (the original layout) if false.
        layer_norm_epsilon: Epsilon of the layer norms.
        use_rotary: Rotary position embeddings inside attention.
        kernel_initializer: Initializer of all kernels.
        skip_padding: Given a padding ``mask``, run everything but the attention core (projections, residual
            adds, norms, dropout, the feed-forward network) on the real tokens only; the output's padded
            positions are then zeros.
            ``None``: on where the backend traces data-dependent shapes (TensorFlow), off on JAX.
        **kwargs: Standard layer arguments.

    Example:
        >>> block = TransformerEncoderBlock(d_model=64, num_heads=4, ff_dim=128)
        >>> tuple(block(keras.random.normal((2, 10, 64))).shape)
        (2, 10, 64)
    """

    def __init__(self, d_model, num_heads, ff_dim, dropout=0.1, attention_dropout=0.0, activation="gelu",
                 norm_first=True, layer_norm_epsilon=1e-5, use_rotary=False,
                 kernel_initializer="glorot_uniform", skip_padding=None, **kwargs):
        super().__init__(**kwargs)
        self.d_model = check.positive_int("d_model", d_model)
        self.num_heads = check.positive_int("num_heads", num_heads)
        if d_model % num_heads:
            raise ValueError(f"`num_heads`={num_heads} must divide `d_model`={d_model}")
        self.ff_dim = check.positive_int("ff_dim", ff_dim)
        self.dropout = dropout_rate("dropout", dropout)
        self.attention_dropout = dropout_rate("attention_dropout", attention_dropout)
        self.activation = check.choice("activation", activation, ACTIVATIONS)
        self.norm_first = check.flag("norm_first", norm_first)
        self.layer_norm_epsilon = check.positive_float("layer_norm_epsilon", layer_norm_epsilon)
        self.use_rotary = check.flag("use_rotary", use_rotary)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        skip_padding = check.flag("skip_padding", skip_padding, allow_none=True)
        if skip_padding and not packing_supported():
            raise ValueError(f"`skip_padding`=True needs data-dependent shapes, which the {keras.backend.backend()} "
                             "backend cannot trace; leave it None (on where the backend allows it) or set False")
        self.skip_padding = skip_padding
        self.packs_tokens = packing_supported() if skip_padding is None else skip_padding
        self.supports_masking = True

    def build(self, input_shape):
        if input_shape[-1] != self.d_model:
            raise ValueError(f"{self.name} expects inputs with {self.d_model} features (d_model), got {input_shape}")
        policy = self.dtype_policy
        self.attention = MultiHeadAttention(
            self.d_model, self.num_heads, dropout=self.attention_dropout, use_rotary=self.use_rotary,
            kernel_initializer=self.kernel_initializer, dtype=policy, name="self_attention",
        )
        self.attention.build(input_shape)
        self.attention_norm = LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="attention_norm")
        self.attention_norm.build(input_shape)
        self.feedforward = FeedForward(
            self.d_model, self.ff_dim, self.activation, self.kernel_initializer, dtype=policy, name="feedforward")
        self.feedforward.build(input_shape)
        self.feedforward_norm = LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="feedforward_norm")
        self.feedforward_norm.build(input_shape)
        self.residual_dropout = Dropout(self.dropout, dtype=policy)
        self.built = True

    def call(self, inputs, mask=None, attention_mask=None, return_attention_scores=False, training=None,
             packed=False):
        """Encode ``inputs`` ``[batch, T, d_model]``; ``mask`` ``[batch, T]`` marks real tokens.

        With ``packed=True``, ``inputs`` are the rows ``[N, d_model]`` of ``mask``'s real tokens (``PackTokens``)
        and so is the output: a stack packs once for all its blocks instead of each block packing and
        unpacking.

        Returns the encoded sequence, and the attention probabilities ``[batch, heads, T, T]`` when asked for.
        """
        if packed and mask is None:
            raise ValueError(f"{self.name}: `packed=True` needs the `mask` whose real tokens the input rows are")
        # With packing, everything but the attention core runs on the real tokens' rows [N, d_model].
        packing = Packing(mask) if mask is not None and (packed or self.packs_tokens) else None

        def attend(h):
            return self.attention(
                h, padding_mask=mask, attention_mask=attention_mask,
                return_attention_scores=return_attention_scores, training=training, packing=packing,
            )

        x = packing.pack(inputs) if packing is not None and not packed else inputs
        x, extras = residual_sublayer(x, self.attention_norm, attend, self.residual_dropout, self.norm_first, training)
        x, _ = residual_sublayer(
            x, self.feedforward_norm, self.feedforward, self.residual_dropout, self.norm_first, training)
        if packing is not None and not packed:
            x = packing.unpack(x)
        probs = extras[0] if extras else None
        return (x, probs) if return_attention_scores else x

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        config = super().get_config()
        config.update({
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "activation": self.activation,
            "norm_first": self.norm_first,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "use_rotary": self.use_rotary,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "skip_padding": self.skip_padding,
        })
        return config
