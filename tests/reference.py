"""Independent float64 numpy implementations the layers are checked against."""
import numpy as np
from scipy.special import erf


def w(var):
    return np.asarray(var.numpy() if hasattr(var, "numpy") else var, dtype=np.float64)


def dense(x, layer):
    out = x @ w(layer.kernel)
    if layer.bias is not None:
        out = out + w(layer.bias)
    return out


def softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def layer_norm(x, layer):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + layer.epsilon) * w(layer.gamma) + w(layer.beta)


ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "gelu": lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "swish": lambda x: x / (1 + np.exp(-x)),
}


def rotary(x, start=0, max_wavelength=10000):
    """x: [B, T, H, D]; rotate-half RoPE."""
    half = x.shape[-1] // 2
    inv_freq = 1.0 / max_wavelength ** (np.arange(half) / half)
    pos = np.arange(x.shape[1]) + start
    ang = pos[:, None] * inv_freq[None, :]
    cos, sin = np.cos(ang)[None, :, None, :], np.sin(ang)[None, :, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)


def sinusoidal(length, dim, max_wavelength=10000, start=0):
    pos = np.arange(length)[:, None] + start
    i = np.arange(dim)[None, :]
    angle = pos / max_wavelength ** ((2 * (i // 2)) / dim)
    return np.where(i % 2 == 0, np.sin(angle), np.cos(angle))


def mha(layer, query, key_value=None, mask=None):
    """Reference of zoo.layers.MultiHeadAttention. mask: bool broadcastable to [B, H, T, S]."""
    h, d = layer.num_heads, layer.head_dim
    query = np.asarray(query, np.float64)
    b, t = query.shape[:2]
    if key_value is None:
        qkv = dense(query, layer.qkv_dense).reshape(b, t, 3, h, d)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    else:
        key_value = np.asarray(key_value, np.float64)
        s = key_value.shape[1]
        q = dense(query, layer.query_dense).reshape(b, t, h, d)
        kv = dense(key_value, layer.key_value_dense).reshape(b, s, 2, h, d)
        k, v = kv[:, :, 0], kv[:, :, 1]
    if layer.use_rotary:
        q, k = rotary(q, max_wavelength=layer.rotary_max_wavelength), rotary(k, max_wavelength=layer.rotary_max_wavelength)
    logits = np.einsum("bthd,bshd->bhts", q, k) / np.sqrt(d)
    if mask is not None:
        logits = np.where(mask, logits, -1e9)
    probs = softmax(logits)
    ctx = np.einsum("bhts,bshd->bthd", probs, v).reshape(b, t, h * d)
    return dense(ctx, layer.output_dense), probs


def encoder_block(block, x, mask=None):
    """Reference of zoo.layers.TransformerEncoderBlock (inference: no dropout). mask: [B, T] bool."""
    x = np.asarray(x, np.float64)
    attn_mask = None if mask is None else np.asarray(mask, bool)[:, None, None, :]
    act = ACTIVATIONS[block.activation]

    def ffn(h):
        return dense(act(dense(h, block.feedforward.hidden)), block.feedforward.projection)

    if block.norm_first:
        x = x + mha(block.attention, layer_norm(x, block.attention_norm), mask=attn_mask)[0]
        return x + ffn(layer_norm(x, block.feedforward_norm))
    x = layer_norm(x + mha(block.attention, x, mask=attn_mask)[0], block.attention_norm)
    return layer_norm(x + ffn(x), block.feedforward_norm)
