"""Read attention probabilities out of a built zoo classifier."""
import keras
from keras import ops

from zoo.layers import TokenAndPositionEmbedding, TransformerEncoderBlock


def attention_maps(model, token_ids):
    """Return each encoder block's attention probabilities for ``token_ids``, in layer order.

    Args:
        model: A model from ``build_transformer`` (or any model with one ``TokenAndPositionEmbedding`` followed by
            ``TransformerEncoderBlock`` layers).
        token_ids: int ids ``[batch, T]``, ``0`` for padding.

    Returns:
        A list with one numpy array ``[batch, heads, T, T]`` per encoder block.

    Example:
        >>> maps = attention_maps(model, [[2, 15, 7, 0]])
        >>> len(maps), maps[0].shape
        (2, (1, 4, 4, 4))
    """
    embeddings = [layer for layer in model.layers if isinstance(layer, TokenAndPositionEmbedding)]
    blocks = [layer for layer in model.layers if isinstance(layer, TransformerEncoderBlock)]
    if len(embeddings) != 1 or not blocks:
        raise ValueError(
            f"model {model.name!r} has no TokenAndPositionEmbedding + TransformerEncoderBlock stack "
            "(build it with zoo.build_transformer)"
        )
    ids = ops.convert_to_tensor(token_ids, dtype="int32")
    embedding = embeddings[0]
    x = embedding(ids)
    mask = embedding.compute_mask(ids)
    maps = []
    for block in blocks:
        x, probs = block(x, mask=mask, return_attention_scores=True, training=False)
        maps.append(keras.ops.convert_to_numpy(probs))
    return maps
