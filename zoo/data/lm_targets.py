"""Targets for language-model training: BERT masking for MLM, next-token shifts for causal LMs."""
import tensorflow as tf

from zoo.data.special_tokens import LEARNED_IDS


def mask_tokens(ids, seed, *, vocab_size, rate=0.15, special_ids=LEARNED_IDS):
    """Choose ``rate`` of the real tokens for prediction; of those 80% become ``[MASK]``, 10% a random token, 10% stay.

    Special tokens (``[PAD]``, ``[CLS]``, ...) are never chosen, and random replacements are drawn uniformly from
    the other ids. Deterministic for a given ``seed`` (a shape ``[2]`` int tensor, as for
    ``tf.random.stateless_uniform``), so masking can change every epoch yet repeat exactly on resume.

    Args:
        ids: int token ids ``[batch, T]``.
        seed: Stateless seed, shape ``[2]``.
        vocab_size: Tokenizer vocabulary size.
        rate: Fraction of real tokens to predict.
        special_ids: The tokenizer's ``special_ids`` (``[MASK]`` and the ids never chosen).

    Returns:
        ``(inputs, labels, weights)``: corrupted ids, the original ids, and 1.0 where a token was chosen.

    Example:
        >>> ids = tf.constant([[2, 17, 18, 19, 20, 21, 3, 0]])
        >>> inputs, labels, weights = mask_tokens(ids, tf.constant([0, 2]), vocab_size=8000, rate=0.3)
        >>> inputs.numpy()  # [MASK] is id 4
        array([[ 2, 17, 18, 19,  4,  4,  3,  0]], dtype=int32)
        >>> weights.numpy()
        array([[0., 0., 0., 0., 1., 1., 0., 0.]], dtype=float32)
    """
    if not 0.0 < rate < 1.0:
        raise ValueError(f"`rate` must be in (0, 1), got {rate!r}")
    special = [i for i in special_ids.all if i < vocab_size]
    if vocab_size <= len(special):
        raise ValueError(f"`vocab_size`={vocab_size} leaves no regular tokens beside the special ids {special}")
    ids = tf.convert_to_tensor(ids)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=3)
    eligible = tf.reduce_all(ids[..., None] != tf.constant(special, ids.dtype), axis=-1)
    chosen = tf.logical_and(eligible, tf.random.stateless_uniform(tf.shape(ids), seeds[0]) < rate)
    action = tf.random.stateless_uniform(tf.shape(ids), seeds[1])
    # The r-th regular id: r, moved past every special id at or below it (in increasing order).
    random_ids = tf.random.stateless_uniform(
        tf.shape(ids), seeds[2], minval=0, maxval=vocab_size - len(special), dtype=tf.int64)
    for special_id in special:
        random_ids += tf.cast(random_ids >= special_id, tf.int64)
    inputs = tf.where(tf.logical_and(chosen, action < 0.8), tf.cast(special_ids.mask, ids.dtype), ids)
    inputs = tf.where(tf.logical_and(chosen, tf.logical_and(action >= 0.8, action < 0.9)),
                      tf.cast(random_ids, ids.dtype), inputs)
    return inputs, ids, tf.cast(chosen, tf.float32)


def shift_for_next_token(ids, pad_id=LEARNED_IDS.pad):
    """Split ``[batch, T]`` ids into model inputs ``ids[:, :-1]``, targets ``ids[:, 1:]`` and target weights.

    Args:
        ids: int token ids ``[batch, T]``.
        pad_id: The tokenizer's padding id.

    Returns:
        ``(inputs, targets, weights)`` with weights 0.0 where the target is padding.

    Example:
        >>> inputs, targets, weights = shift_for_next_token(tf.constant([[2, 7, 9, 0]]))
        >>> inputs.numpy(), targets.numpy(), weights.numpy()
        (array([[2, 7, 9]], dtype=int32), array([[7, 9, 0]], dtype=int32), array([[1., 1., 0.]], dtype=float32))
    """
    ids = tf.convert_to_tensor(ids)
    targets = ids[:, 1:]
    return ids[:, :-1], targets, tf.cast(tf.not_equal(targets, pad_id), tf.float32)
