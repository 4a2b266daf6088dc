"""An independent float64 numpy BERT forward pass over Hugging Face weight names (the reference for the importer).

Written from the BERT paper and transformers' ``modeling_bert.py`` semantics, sharing no code with zoo:
embeddings (token + position + token type) and LayerNorm; post-LN blocks (self-attention, add, LayerNorm;
feed-forward, add, LayerNorm); exact erf GELU (or the tanh form for ``gelu_new``, or ReLU, or SiLU); a tanh
pooler over the first token. Padded keys get no attention weight at all.
"""
import numpy as np
from scipy.special import erf

ACTIVATIONS = {
    "gelu": lambda x: 0.5 * x * (1.0 + erf(x / np.sqrt(2.0))),
    "gelu_new": lambda x: 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3))),
    "relu": lambda x: np.maximum(x, 0.0),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
}
ACTIVATIONS.update(gelu_python=ACTIVATIONS["gelu"], gelu_pytorch_tanh=ACTIVATIONS["gelu_new"],
                   gelu_fast=ACTIVATIONS["gelu_new"], swish=ACTIVATIONS["silu"])


def layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def bert_forward(weights, config, token_ids, segment_ids=None, padding_mask=None):
    """BERT's outputs in float64.

    Args:
        weights: ``{Hugging Face key (no "bert." prefix): array}``; torch ``Linear`` weights are ``[out, in]``.
        config: The checkpoint's ``config.json`` dict.
        token_ids: int ``[batch, T]``.
        segment_ids: int ``[batch, T]`` (zeros when ``None``).
        padding_mask: bool ``[batch, T]``, true on real tokens (all true when ``None``).

    Returns:
        ``(sequence_output [batch, T, hidden], pooled_output [batch, hidden] or None)``.
    """
    def w(key):
        return np.asarray(weights[key], np.float64)

    token_ids = np.asarray(token_ids)
    batch, length = token_ids.shape
    segment_ids = np.zeros_like(token_ids) if segment_ids is None else np.asarray(segment_ids)
    padding_mask = np.ones(token_ids.shape, bool) if padding_mask is None else np.asarray(padding_mask, bool)
    eps = config.get("layer_norm_eps", 1e-12)
    heads = config["num_attention_heads"]
    hidden = config["hidden_size"]
    size = hidden // heads
    act = ACTIVATIONS[config.get("hidden_act", "gelu")]

    def linear(x, name):
        # As 2-D products: numpy's batched matmul with a transposed operand skips BLAS (100x slower).
        flat = x.reshape(-1, x.shape[-1]) @ w(f"{name}.weight").T
        return flat.reshape(*x.shape[:-1], -1) + w(f"{name}.bias")

    def norm(x, name):
        return layer_norm(x, w(f"{name}.weight"), w(f"{name}.bias"), eps)

    x = (np.asarray(weights["embeddings.word_embeddings.weight"][token_ids], np.float64)
         + w("embeddings.position_embeddings.weight")[:length][None]
         + w("embeddings.token_type_embeddings.weight")[segment_ids])
    x = norm(x, "embeddings.LayerNorm")
    allowed = padding_mask[:, None, None, :]  # [batch, heads, queries, keys]
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (linear(x, f"{p}attention.self.{part}").reshape(batch, length, heads, size).transpose(0, 2, 1, 3)
                   for part in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size)
        scores = np.where(allowed, scores, -np.inf)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = norm(x + linear(context, f"{p}attention.output.dense"), f"{p}attention.output.LayerNorm")
        h = act(linear(x, f"{p}intermediate.dense"))
        x = norm(x + linear(h, f"{p}output.dense"), f"{p}output.LayerNorm")
    pooled = np.tanh(linear(x[:, 0], "pooler.dense")) if "pooler.dense.weight" in weights else None
    return x, pooled


def mean_pooled_embeddings(sequence_output, padding_mask):
    """sentence-transformers' mean pooling over real tokens, then L2 normalisation (all-MiniLM-L6-v2)."""
    mask = np.asarray(padding_mask, np.float64)[..., None]
    mean = (sequence_output * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
    return mean / np.linalg.norm(mean, axis=-1, keepdims=True)
