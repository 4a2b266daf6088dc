"""Read attention probabilities out of a zoo model's backbone."""
import keras
from keras import ops

from zoo.models.task import padding_mask


def attention_maps(model, token_ids, segment_ids=None):
    """Return each backbone block's self-attention probabilities for ``token_ids``, in layer order.

    Args:
        model: A task over a ``Backbone`` (``build_transformer``, ``build_mlm``, ``build_lm``); its ``pad_id``
            marks padding.
        token_ids: int ids ``[batch, T]``.
        segment_ids: int segment ids ``[batch, T]`` (any array-like) for a backbone with segments (default all 0).

    Returns:
        A list with one numpy array ``[batch, heads, T, T]`` per block.

    Example:
        >>> model = zoo.build_transformer(vocab_size=100, sequence_length=16)
        >>> maps = attention_maps(model, [[2, 15, 7, 0]])
        >>> len(maps), maps[0].shape
        (2, (1, 4, 4, 4))
    """
    backbone = getattr(model, "backbone", None)
    if backbone is None:
        raise ValueError(f"model {model.name!r} has no Transformer backbone to read attention from (build it with "
                         "zoo.build_transformer)")
    if segment_ids is not None:
        if not backbone.num_segments:
            raise ValueError(f"model {model.name!r} takes no segment ids (its backbone has num_segments=None): "
                             "pass token_ids alone")
        segment_ids = ops.convert_to_tensor(segment_ids, dtype="int32")
    ids = ops.convert_to_tensor(token_ids, dtype="int32")
    mask = padding_mask(ids, model.pad_id)
    x = backbone.embed(ids, segment_ids, training=False)
    maps = []
    for block in backbone.blocks:
        x, probs = block(x, mask=mask, return_attention_scores=True, training=False)
        # A causal block returns (self-attention, cross-attention) probabilities; it has no cross-attention.
        maps.append(keras.ops.convert_to_numpy(probs[0] if backbone.causal else probs))
    return maps
