"""Language-model tasks over a backbone: GPT-style causal LM and BERT-style masked LM."""
import keras
from keras import ops

from zoo.layers import LayerNormalization
from zoo.models.backbone import Backbone
from zoo.models.task import BackboneTask, check_backbone, ids_or_dict, token_inputs


@keras.saving.register_keras_serializable(package="zoo")
class CausalLM(BackboneTask):
    """Next-token logits from a causal ``Backbone``, projected with its token table (tied embeddings).

    Takes int ids ``[batch, T]`` (``pad_id`` is padding) and returns float32 logits ``[batch, T, vocab_size]``.
    ``init_cache`` and ``call_with_cache`` decode step by step with the backbone's key/value cache.

    Args:
        backbone: A causal ``zoo.models.Backbone``.
        pad_id: The tokenizer's padding id.
        dtype: Dtype policy of the task's own layers; ``None`` follows the global policy.
        **kwargs: ``name`` and other ``keras.Model`` arguments.

    Example:
        >>> lm = CausalLM(Backbone(vocab_size=1000, sequence_length=64, causal=True))
        >>> tuple(lm(np.array([[2, 57, 31]])).shape)
        (1, 3, 1000)
    """

    def __init__(self, backbone, *, pad_id=0, dtype=None, **kwargs):
        self.backbone = check_backbone(backbone, causal=True)
        inputs, backbone_inputs = token_inputs(backbone, pad_id)
        sequence = backbone(backbone_inputs)["sequence_output"]
        logits = backbone.token_embedding(sequence, reverse=True)
        super().__init__(inputs=ids_or_dict(inputs), outputs=logits, dtype=dtype, **kwargs)
        self.pad_id = pad_id

    def init_cache(self, batch_size):
        """Return an empty key/value cache for ``call_with_cache`` (room for ``sequence_length`` positions)."""
        return self.backbone.init_cache(batch_size)

    def call_with_cache(self, token_ids, cache, cache_update_index):
        """Return ``(float32 logits [batch, T, vocab_size], updated cache)`` for ids placed at ``cache_update_index``.

        Equal to the uncached logits at those positions.
        """
        sequence, cache = self.backbone.call_with_cache(token_ids, cache, cache_update_index)
        return self.backbone.token_embedding(sequence, reverse=True), cache


@keras.saving.register_keras_serializable(package="zoo")
class MaskedLM(BackboneTask):
    """Vocabulary logits at chosen positions from a bidirectional ``Backbone`` (BERT's masked-LM head).

    Takes ``{"token_ids": [batch, T], "mask_positions": [batch, P]}`` (plus ``segment_ids`` when the backbone has
    segments) and returns float32 logits ``[batch, P, vocab_size]``: the states at ``mask_positions`` go through
    ``mlm_dense`` (GELU), ``mlm_norm`` and the transposed token table. As in BERT, only the predicted positions go
    through the vocabulary projection: with 15% of the tokens masked that is most of a step's compute saved.
    Pass ``mask_positions = [[0, 1, ..., T - 1]] * batch`` for logits at every position.

    Args:
        backbone: A bidirectional ``zoo.models.Backbone``.
        pad_id: The tokenizer's padding id.
        dtype: Dtype policy of the task's own layers; ``None`` follows the global policy.
        **kwargs: ``name`` and other ``keras.Model`` arguments.

    Example:
        >>> mlm = MaskedLM(Backbone(vocab_size=1000, sequence_length=64))
        >>> tuple(mlm({"token_ids": np.array([[2, 4, 31]]), "mask_positions": np.array([[1]])}).shape)
        (1, 1, 1000)
    """

    def __init__(self, backbone, *, pad_id=0, dtype=None, **kwargs):
        self.backbone = check_backbone(backbone)
        self.mlm_dense = keras.layers.Dense(backbone.d_model, activation="gelu", dtype=dtype, name="mlm_dense")
        self.mlm_norm = LayerNormalization(
            epsilon=backbone.layer_norm_epsilon, dtype=dtype, name="mlm_norm")
        inputs, backbone_inputs = token_inputs(backbone, pad_id)
        inputs["mask_positions"] = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
        sequence = backbone(backbone_inputs)["sequence_output"]
        index = ops.repeat(ops.expand_dims(inputs["mask_positions"], -1), backbone.d_model, axis=-1)
        x = self.mlm_norm(self.mlm_dense(ops.take_along_axis(sequence, index, axis=1)))
        logits = backbone.token_embedding(x, reverse=True)
        super().__init__(inputs=inputs, outputs=logits, dtype=dtype, **kwargs)
        self.pad_id = pad_id


def _backbone(vocab_size, sequence_length, num_layers, d_model, num_heads, ff_dim, dropout, activation, positional,
              norm_first, causal):
    return Backbone(vocab_size, sequence_length, num_layers=num_layers, d_model=d_model, num_heads=num_heads,
                    ff_dim=ff_dim, dropout=dropout, activation=activation, positional=positional,
                    norm_first=norm_first, causal=causal, name="backbone")


def build_lm(vocab_size, sequence_length, *, num_layers=2, d_model=128, num_heads=4, ff_dim=256, dropout=0.1,
             activation="gelu", positional="learned", norm_first=True, pad_id=0, name="transformer_lm"):
    """Build a GPT-style decoder-only causal language model with tied input/output embeddings.

    Args:
        vocab_size: Number of token ids.
        sequence_length: Longest sequence (prompt + generated tokens).
        num_layers: Decoder blocks.
        d_model: Hidden size.
        num_heads: Attention heads; must divide ``d_model``.
        ff_dim: Feed-forward hidden size.
        dropout: Residual and embedding dropout.
        activation: Feed-forward activation.
        positional: ``learned``, ``sinusoidal`` or ``rotary``.
        norm_first: Pre-LN (with a final layer norm) or post-LN.
        pad_id: The tokenizer's padding id.
        name: Model name.

    Returns:
        A ``CausalLM`` from ids ``[batch, T]`` to next-token logits ``[batch, T, vocab_size]`` (float32).

    Example:
        >>> lm = build_lm(vocab_size=8000, sequence_length=128)
        >>> tuple(lm(np.array([[2, 57, 31]])).shape)
        (1, 3, 8000)
    """
    backbone = _backbone(vocab_size, sequence_length, num_layers, d_model, num_heads, ff_dim, dropout, activation,
                         positional, norm_first, causal=True)
    return CausalLM(backbone, pad_id=pad_id, name=name)


def build_mlm(vocab_size, sequence_length, *, num_layers=2, d_model=128, num_heads=4, ff_dim=256, dropout=0.1,
              activation="gelu", positional="learned", norm_first=True, pad_id=0, name="transformer_mlm"):
    """Build a BERT-style encoder with a masked-language-model head (tied output embeddings).

    Its backbone has the same parts and shapes as ``build_transformer``'s, so a classifier can start from it
    (``zoo.models.transfer_backbone_weights``).

    Args:
        vocab_size: Number of token ids.
        sequence_length: Longest input.
        num_layers: Encoder blocks.
        d_model: Hidden size.
        num_heads: Attention heads; must divide ``d_model``.
        ff_dim: Feed-forward hidden size.
        dropout: Residual and embedding dropout.
        activation: Feed-forward activation.
        positional: ``learned``, ``sinusoidal`` or ``rotary``.
        norm_first: Pre-LN (with a final layer norm) or post-LN.
        pad_id: The tokenizer's padding id.
        name: Model name.

    Returns:
        A ``MaskedLM`` from ``{"token_ids": [batch, T], "mask_positions": [batch, P]}`` to vocabulary logits
        ``[batch, P, vocab_size]`` (float32) at the given positions.

    Example:
        >>> mlm = build_mlm(vocab_size=8000, sequence_length=128)
        >>> logits = mlm({"token_ids": np.array([[2, 4, 31, 9]]), "mask_positions": np.array([[1, 3]])})
        >>> tuple(logits.shape)
        (1, 2, 8000)
    """
    backbone = _backbone(vocab_size, sequence_length, num_layers, d_model, num_heads, ff_dim, dropout, activation,
                         positional, norm_first, causal=False)
    return MaskedLM(backbone, pad_id=pad_id, name=name)
