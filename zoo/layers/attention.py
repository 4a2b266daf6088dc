"""Multi-head scaled dot-product attention with fused projections, masks, rotary positions and a KV cache."""
import math

import keras
from keras import ops

from zoo.hardware import attention_core_dtype
from zoo.layers import _validation as check
from zoo.layers.dropout import Dropout, dropout_rate
from zoo.layers.rotary import RotaryEmbedding

# Finite rather than -inf so a fully masked row gives a finite (not NaN) softmax; bfloat16 represents it too.
_MASKED_LOGIT = -1e9
# keras.ops.dot_product_attention dispatches to cuDNN flash attention on GPU under JAX. On TensorFlow it is an
# einsum-softmax-einsum graph whose transposes and `where` mask (a pass over the logits both ways) made this
# layer's forward and backward pass 1.1-1.4x slower than with `_attend` (bench/profile_attention.py), so zoo
# uses its own there.
_FUSED_KERNEL = keras.backend.backend() == "jax"


def combine_masks(padding_mask=None, attention_mask=None, causal=False, query_length=None,
                  key_length=None, query_offset=0, valid_keys=None):
    """Return one boolean mask broadcastable to ``[batch, heads, query, key]``, or ``None``.

    Args:
        padding_mask: ``[batch, key]`` true where a key is a real token.
        attention_mask: ``[batch, query, key]`` true where the query may attend to the key.
        causal: mask keys that lie after the query's position.
        query_length: number of queries (needed for ``causal`` and ``valid_keys``).
        key_length: number of keys (needed for ``causal`` and ``valid_keys``).
        query_offset: position of the first query (non-zero when decoding with a cache).
        valid_keys: only keys at positions below this count are attended (a partly filled cache).

    Example:
        >>> tuple(combine_masks(padding_mask=ops.array([[1, 1, 0]], dtype="bool")).shape)
        (1, 1, 1, 3)
        >>> ops.convert_to_numpy(combine_masks(causal=True, query_length=3, key_length=3))[0, 0]
        array([[ True, False, False],
               [ True,  True, False],
               [ True,  True,  True]])
    """
    mask = None
    if padding_mask is not None:
        mask = ops.cast(padding_mask, "bool")[:, None, None, :]
    if attention_mask is not None:
        explicit = ops.cast(attention_mask, "bool")[:, None, :, :]
        mask = explicit if mask is None else ops.logical_and(mask, explicit)
    if causal or valid_keys is not None:
        if query_length is None or key_length is None:
            raise ValueError(f"`causal` and `valid_keys` need `query_length` and `key_length`, got query_length="
                             f"{query_length!r}, key_length={key_length!r}")
        key_pos = ops.arange(key_length)[None, :]
        query_pos = ops.arange(query_length)[:, None] + ops.cast(query_offset, "int32")
        allowed = ops.ones((query_length, key_length), dtype="bool")
        if causal:
            allowed = ops.logical_and(allowed, key_pos <= query_pos)
        if valid_keys is not None:
            allowed = ops.logical_and(allowed, key_pos < ops.cast(valid_keys, "int32"))
        allowed = allowed[None, None, :, :]
        mask = allowed if mask is None else ops.logical_and(mask, allowed)
    return mask


@keras.saving.register_keras_serializable(package="zoo")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head scaled dot-product attention, for self- or cross-attention.

    Self-attention (``key_value=None``) projects queries, keys and values with one fused matmul; cross-attention
    projects queries from ``query`` and keys/values (fused) from ``key_value``. Which one a layer is follows from
    its first call. Under mixed precision the attention core (QKᵀ, softmax, ·V) runs in the dtype
    ``zoo.hardware.attention_core_dtype`` picks: bfloat16 where the hardware computes it natively, else
    float32; the softmax runs in float32 unless the core is bfloat16 (whose range is float32's). On JAX,
    without attention dropout and without ``return_attention_scores``, the fused
    ``keras.ops.dot_product_attention`` kernel is used (cuDNN flash attention on GPU).

    Args:
        d_model: Output feature size.
        num_heads: Number of attention heads.
        key_dim: Size of each head; defaults to ``d_model // num_heads``, which must then divide exactly.
        dropout: Dropout rate on the attention probabilities (off by default: it is slow, and residual
            dropout is the usual regulariser).
        use_bias: Whether the projections have biases.
        use_rotary: Apply rotary position embeddings to queries and keys.
        rotary_max_wavelength: Longest rotary wavelength.
        kernel_initializer: Initializer of the projection kernels.
        bias_initializer: Initializer of the projection biases.
        **kwargs: Standard layer arguments.

    Example:
        >>> mha = MultiHeadAttention(d_model=64, num_heads=4)
        >>> x = keras.random.normal((2, 10, 64))
        >>> out, probs = mha(x, padding_mask=ops.ones((2, 10), "bool"), return_attention_scores=True)
        >>> tuple(out.shape), tuple(probs.shape)
        ((2, 10, 64), (2, 4, 10, 10))
    """

    def __init__(self, d_model, num_heads, key_dim=None, dropout=0.0, use_bias=True, use_rotary=False,
                 rotary_max_wavelength=10000, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs):
        super().__init__(**kwargs)
        self.d_model = check.positive_int("d_model", d_model)
        self.num_heads = check.positive_int("num_heads", num_heads)
        if key_dim is None and d_model % num_heads:
            raise ValueError(
                f"`num_heads`={num_heads} must divide `d_model`={d_model} when `key_dim` is not given"
            )
        self.key_dim = check.positive_int("key_dim", key_dim, allow_none=True)
        self.dropout = dropout_rate("dropout", dropout)
        self.use_bias = check.flag("use_bias", use_bias)
        self.use_rotary = check.flag("use_rotary", use_rotary)
        self.rotary_max_wavelength = check.positive_int("rotary_max_wavelength", rotary_max_wavelength)
        if self.use_rotary and self.head_dim % 2:
            raise ValueError(f"`use_rotary` needs an even head size, got key_dim={self.head_dim}")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        # The incoming Keras mask is the query's padding; callers pass key masks explicitly, so accepting
        # (and ignoring) it keeps Keras from warning that the mask is destroyed.
        self.supports_masking = True
        self.is_cross_attention = None

    @property
    def head_dim(self):
        return self.key_dim or self.d_model // self.num_heads

    def _dense(self, units, name):
        return keras.layers.Dense(
            units, use_bias=self.use_bias, kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer, dtype=self.dtype_policy, name=name,
        )

    def build(self, query_shape, key_value_shape=None):
        inner = self.num_heads * self.head_dim
        self.is_cross_attention = key_value_shape is not None
        if self.is_cross_attention:
            self.query_dense = self._dense(inner, "query")
            self.query_dense.build(query_shape)
            self.key_value_dense = self._dense(2 * inner, "key_value")
            self.key_value_dense.build(key_value_shape)
        else:
            self.qkv_dense = self._dense(3 * inner, "qkv")
            self.qkv_dense.build(query_shape)
        self.output_dense = self._dense(self.d_model, "output")
        self.output_dense.build(tuple(query_shape[:-1]) + (inner,))
        self.rotary = RotaryEmbedding(self.rotary_max_wavelength, dtype=self.dtype_policy) if self.use_rotary else None
        self.probs_dropout = Dropout(self.dropout, dtype=self.dtype_policy) if self.dropout else None
        self.core_dtype = attention_core_dtype(self.compute_dtype)
        self._build_shapes = {"query_shape": query_shape, "key_value_shape": key_value_shape}
        self.built = True

    def get_build_config(self):
        return {"shapes": self._build_shapes} if self.built else None

    def build_from_config(self, config):
        if config:
            self.build(**config["shapes"])

    def _split_heads(self, x, parts):
        # [B, T, parts * H * D] -> `parts` tensors of [B, T, H, D]. `unstack` rather than `x[:, :, i]`: the
        # gradient of each strided slice writes a zero-filled copy of the whole projection (three of them
        # took a quarter of zoo's op time in a training step), that of `unstack` is one concatenation.
        shape = ops.shape(x)
        x = ops.reshape(x, (shape[0], shape[1], parts, self.num_heads, self.head_dim))
        return ops.unstack(x, parts, axis=2)

    def call(self, query, key_value=None, padding_mask=None, attention_mask=None, use_causal_mask=False,
             cache=None, cache_update_index=None, return_attention_scores=False, training=None, packing=None):
        """Attend from ``query`` to itself or to ``key_value``.

        Args:
            query: ``[batch, T, features]``.
            key_value: ``[batch, S, features]`` for cross-attention; ``None`` for self-attention.
            padding_mask: ``[batch, S]``, true for real key tokens.
            attention_mask: ``[batch, T, S]``, true where attention is allowed.
            use_causal_mask: forbid attending to later positions.
            cache: self-attention key/value cache ``[batch, 2, max_length, heads, head_dim]``; the new keys and
                values are written at ``cache_update_index`` and the updated cache is returned.
            cache_update_index: position of ``query[:, 0]`` in the sequence (int or scalar tensor); with a
                ``cache`` only.
            return_attention_scores: also return the attention probabilities ``[batch, heads, T, S]``.
            training: enables attention-probability dropout.
            packing: self-attention only: the ``Packing`` of ``padding_mask``, with ``query`` given as its real
                tokens' rows ``[N, features]``. The projections then run on those rows, the core on the padded
                layout, and the output comes back as rows ``[N, d_model]``.

        Returns:
            ``output`` of shape ``[batch, T, d_model]`` (``[N, d_model]`` with ``packing``), followed by
            ``cache`` when one was given and by the probabilities when asked for.
        """
        if self.is_cross_attention and key_value is None:
            raise ValueError(f"{self.name} was built for cross-attention: pass `key_value`")
        if not self.is_cross_attention and key_value is not None:
            raise ValueError(f"{self.name} was built for self-attention: do not pass `key_value`")
        if cache is not None and self.is_cross_attention:
            raise ValueError("`cache` is only supported for self-attention")
        if cache is not None and cache_update_index is None:
            raise ValueError("`cache_update_index` is required when `cache` is given")
        if cache is None and cache_update_index is not None:
            # Without a cache the keys are the queries' own tokens, so an offset on the queries alone would
            # let the causal mask reach later tokens.
            raise ValueError("`cache_update_index` is the position of the queries in a `cache`: pass the `cache`, "
                             "or leave `cache_update_index` None")
        if packing is not None and (self.is_cross_attention or cache is not None):
            raise ValueError("`packing` is only supported for self-attention without a cache")

        if self.is_cross_attention:
            (q,) = self._split_heads(self.query_dense(query), 1)
            k, v = self._split_heads(self.key_value_dense(key_value), 2)
        else:
            qkv = self.qkv_dense(query)
            q, k, v = self._split_heads(qkv if packing is None else packing.unpack(qkv), 3)

        offset = 0 if cache_update_index is None else cache_update_index
        if self.rotary is not None:
            q = self.rotary(q, start_index=offset)
            k = self.rotary(k, start_index=offset)

        valid_keys = None
        if cache is not None:
            # Past the cache JAX's slice_update clamps (silently overwriting the last positions).
            check.positions("cache_update_index", offset, ops.shape(q)[1], ops.shape(cache)[2],
                            "the cache's max_length")
            k = ops.slice_update(cache[:, 0], (0, offset, 0, 0), ops.cast(k, cache.dtype))
            v = ops.slice_update(cache[:, 1], (0, offset, 0, 0), ops.cast(v, cache.dtype))
            cache = ops.stack([k, v], axis=1)
            k, v = ops.cast(k, q.dtype), ops.cast(v, q.dtype)
            valid_keys = offset + ops.shape(q)[1]

        mask = combine_masks(
            padding_mask, attention_mask, causal=use_causal_mask, query_length=ops.shape(q)[1],
            key_length=ops.shape(k)[1], query_offset=offset, valid_keys=valid_keys,
        )
        use_dropout = self.probs_dropout is not None and training
        if _FUSED_KERNEL and not (return_attention_scores or use_dropout):
            context, probs = ops.dot_product_attention(q, k, v, mask=mask, scale=self._scale), None
        else:
            context, probs = self._attend(q, k, v, mask, training)

        shape = ops.shape(context)
        context = ops.reshape(context, (shape[0], shape[1], self.num_heads * self.head_dim))
        if packing is not None:
            context = packing.pack(context)
        output = self.output_dense(ops.cast(context, self.compute_dtype))

        result = (output,)
        if cache is not None:
            result += (cache,)
        if return_attention_scores:
            result += (ops.cast(probs, "float32"),)
        return result[0] if len(result) == 1 else result

    @property
    def _scale(self):
        return 1.0 / math.sqrt(self.head_dim)

    def _attend(self, q, k, v, mask, training):
        # Heads first ([B, H, T, D]): both products are then plain batched matmuls (the transpose of k folds
        # into the matmul), where einsum over [B, T, H, D] transposed q, k, v and the context separately.
        q, k, v = (ops.cast(ops.transpose(t, (0, 2, 1, 3)), self.core_dtype) for t in (q, k, v))
        # Scaling q touches T*D values instead of the T*S logits.
        logits = ops.matmul(q * ops.cast(self._scale, q.dtype), ops.swapaxes(k, -1, -2))
        logits = ops.cast(logits, self._softmax_dtype)
        if mask is not None:
            with keras.name_scope("mask"):
                # An additive bias broadcast from [B, 1, T|1, S]: one pass over the logits in the forward
                # pass and none in the backward one (a `where` needs both), and masked keys get exactly 0.
                logits = logits + ops.cast(ops.where(mask, 0.0, _MASKED_LOGIT), logits.dtype)
        with keras.name_scope("softmax"):  # names its gradient's ops too, for the per-op profile
            probs = ops.softmax(logits, axis=-1)
        weights = ops.cast(probs, v.dtype)
        if self.probs_dropout is not None:
            weights = self.probs_dropout(weights, training=training)
        context = ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3))
        return context, probs

    @property
    def _softmax_dtype(self):
        # bfloat16 has float32's range, so a bfloat16 core keeps its logits (casting them both ways cost 13%
        # of the core); float16 cannot hold the mask bias, and float32 is float32.
        return "bfloat16" if self.core_dtype == "bfloat16" else "float32"

    def get_config(self):
        config = super().get_config()
        config.update({
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_rotary": self.use_rotary,
            "rotary_max_wavelength": self.rotary_max_wavelength,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config
