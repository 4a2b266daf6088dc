"""Transformer decoder block with causal self-attention, optional cross-attention and a key/value cache."""
import keras
from keras import ops

from zoo.layers import _validation as check
from zoo.layers._residual import residual_sublayer
from zoo.layers.attention import MultiHeadAttention
from zoo.layers.dropout import Dropout, dropout_rate
from zoo.layers.feedforward import ACTIVATIONS, FeedForward
from zoo.layers.normalization import LayerNormalization


@keras.saving.register_keras_serializable(package="zoo")
class TransformerDecoderBlock(keras.layers.Layer):
    """Causal self-attention, then (when called with ``encoder_outputs``) cross-attention, then feed-forward.

    Whether the block has cross-attention is fixed by its first call. For incremental decoding pass a
    ``self_attention_cache`` (see ``init_cache``) and the position ``cache_update_index`` of the new tokens;
    the block returns the updated cache alongside its output.

    Args:
        d_model: Feature size of inputs and outputs.
        num_heads: Attention heads; must divide ``d_model``.
        ff_dim: Hidden size of the feed-forward network.
        dropout: Dropout rate on each sub-layer's output before the residual add.
        attention_dropout: Dropout rate on attention probabilities (default off).
        activation: Feed-forward activation: ``relu``, ``gelu`` (exact), ``gelu_tanh``, ``leaky_relu`` or ``swish``.
        norm_first: Pre-LN if true, post-LN if false.
        layer_norm_epsilon: Epsilon of the layer norms.
        use_rotary: Rotary position embeddings in the self-attention.
        kernel_initializer: Initializer of all kernels.
        **kwargs: Standard layer arguments.

    Example:
        >>> block = TransformerDecoderBlock(d_model=64, num_heads=4, ff_dim=128)
        >>> target, memory = keras.random.normal((2, 7, 64)), keras.random.normal((2, 9, 64))
        >>> tuple(block(target, encoder_outputs=memory).shape)
        (2, 7, 64)
    """

    def __init__(self, d_model, num_heads, ff_dim, dropout=0.1, attention_dropout=0.0, activation="gelu",
                 norm_first=True, layer_norm_epsilon=1e-5, use_rotary=False,
                 kernel_initializer="glorot_uniform", **kwargs):
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
        self.supports_masking = True
        self.has_cross_attention = None

    def _norm(self, name, shape):
        norm = LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name)
        norm.build(shape)
        return norm

    def build(self, inputs_shape, encoder_outputs_shape=None):
        if inputs_shape[-1] != self.d_model:
            raise ValueError(f"{self.name} expects inputs with {self.d_model} features (d_model), got {inputs_shape}")
        policy = self.dtype_policy
        self.has_cross_attention = encoder_outputs_shape is not None
        self.self_attention = MultiHeadAttention(
            self.d_model, self.num_heads, dropout=self.attention_dropout, use_rotary=self.use_rotary,
            kernel_initializer=self.kernel_initializer, dtype=policy, name="self_attention",
        )
        self.self_attention.build(inputs_shape)
        self.self_attention_norm = self._norm("self_attention_norm", inputs_shape)
        if self.has_cross_attention:
            self.cross_attention = MultiHeadAttention(
                self.d_model, self.num_heads, dropout=self.attention_dropout,
                kernel_initializer=self.kernel_initializer, dtype=policy, name="cross_attention",
            )
            self.cross_attention.build(inputs_shape, encoder_outputs_shape)
            self.cross_attention_norm = self._norm("cross_attention_norm", inputs_shape)
        self.feedforward = FeedForward(
            self.d_model, self.ff_dim, self.activation, self.kernel_initializer, dtype=policy, name="feedforward")
        self.feedforward.build(inputs_shape)
        self.feedforward_norm = self._norm("feedforward_norm", inputs_shape)
        self.residual_dropout = Dropout(self.dropout, dtype=policy)
        self._build_shapes = {"inputs_shape": inputs_shape, "encoder_outputs_shape": encoder_outputs_shape}
        self.built = True

    def get_build_config(self):
        return {"shapes": self._build_shapes} if self.built else None

    def build_from_config(self, config):
        if config:
            self.build(**config["shapes"])

    def init_cache(self, batch_size, max_length, dtype=None):
        """Return an empty self-attention cache ``[batch, 2, max_length, heads, head_dim]``."""
        head_dim = self.d_model // self.num_heads
        return ops.zeros((batch_size, 2, max_length, self.num_heads, head_dim), dtype=dtype or self.compute_dtype)

    def _sublayer(self, x, norm, fn, training):
        return residual_sublayer(x, norm, fn, self.residual_dropout, self.norm_first, training)

    def call(self, inputs, encoder_outputs=None, mask=None, encoder_mask=None, self_attention_cache=None,
             cache_update_index=None, return_attention_scores=False, training=None):
        """Decode ``inputs`` ``[batch, T, d_model]``.

        Args:
            inputs: Decoder sequence.
            encoder_outputs: ``[batch, S, d_model]`` memory for cross-attention, if the block has it.
            mask: ``[batch, T]`` padding mask of ``inputs``; unused with a cache, where
                the cache's filled length decides which keys exist.
            encoder_mask: ``[batch, S]`` padding mask of ``encoder_outputs``.
            self_attention_cache: Cache from ``init_cache`` or a previous call.
            cache_update_index: Position of ``inputs[:, 0]``; required with a cache, refused without one.
            return_attention_scores: Also return ``(self_probs, cross_probs)``; ``cross_probs`` is ``None``
                without cross-attention.
            training: Enables dropout.

        Returns:
            ``outputs``, then the updated cache when one was given, then the probabilities when asked for.
        """
        if self.has_cross_attention and encoder_outputs is None:
            raise ValueError(f"{self.name} was built with cross-attention: pass `encoder_outputs`")
        if not self.has_cross_attention and encoder_outputs is not None:
            raise ValueError(f"{self.name} was built without cross-attention: do not pass `encoder_outputs`")
        cached = self_attention_cache is not None
        if not cached and cache_update_index is not None:
            raise ValueError(f"{self.name}: `cache_update_index` is the position of `inputs` in a "
                             "`self_attention_cache`: pass the cache, or leave `cache_update_index` None")

        def self_attend(h):
            return self.self_attention(
                h, padding_mask=None if cached else mask, use_causal_mask=True, cache=self_attention_cache,
                cache_update_index=cache_update_index, return_attention_scores=return_attention_scores,
                training=training,
            )

        x, extra = self._sublayer(inputs, self.self_attention_norm, self_attend, training)
        new_cache = extra[0] if cached else None
        self_probs = extra[-1] if return_attention_scores else None

        cross_probs = None
        if self.has_cross_attention:
            def cross_attend(h):
                return self.cross_attention(
                    h, encoder_outputs, padding_mask=encoder_mask,
                    return_attention_scores=return_attention_scores, training=training,
                )

            x, extra = self._sublayer(x, self.cross_attention_norm, cross_attend, training)
            cross_probs = extra[-1] if return_attention_scores else None

        x, _ = self._sublayer(x, self.feedforward_norm, self.feedforward, training)

        result = (x,)
        if cached:
            result += (new_cache,)
        if return_attention_scores:
            result += ((self_probs, cross_probs),)
        return result[0] if len(result) == 1 else result

    def compute_output_spec(self, inputs, encoder_outputs=None, mask=None, encoder_mask=None,
                            self_attention_cache=None, cache_update_index=None, return_attention_scores=False,
                            training=None):
        # Spelled out: tracing `call` fails on JAX with a cache (its slice update needs the batch size), and an
        # output shape alone would give symbolic calls one tensor where `call` returns a tuple.
        output = keras.KerasTensor(inputs.shape, dtype=self.compute_dtype)
        result = (output,)
        if self_attention_cache is not None:
            result += (keras.KerasTensor(self_attention_cache.shape, dtype=self_attention_cache.dtype),)
        if return_attention_scores:
            if encoder_outputs is None:
                raise ValueError(f"{self.name}: a symbolic call (a functional model) cannot return the attention "
                                 "probabilities of a block without cross-attention, whose cross_probs are None; "
                                 "call the block on tensors instead")
            batch, length = inputs.shape[:2]
            keys = length if self_attention_cache is None else self_attention_cache.shape[2]
            result += ((keras.KerasTensor((batch, self.num_heads, length, keys), dtype="float32"),
                        keras.KerasTensor((batch, self.num_heads, length, encoder_outputs.shape[1]),
                                          dtype="float32")),)
        return result[0] if len(result) == 1 else result

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
        })
        return config
