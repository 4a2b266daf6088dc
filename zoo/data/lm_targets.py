"""Targets for language-model training: BERT masking for MLM, next-token shifts for causal LMs."""
import tensorflow as tf

from zoo.data.tokenizers import MASK_ID, PAD_ID, RESERVED_TOKENS


def mask_tokens(ids, seed, *, vocab_size, rate=0.15, mask_id=MASK_ID):
    """Choose ``rate`` of the real tokens for prediction; of those 80% become ``[MASK]``, 10% a random token, 10% stay.

    Reserved tokens (``[PAD]``, ``[CLS]``, ...) are never chosen, and random replacements are drawn from the
    regular vocabulary only. Deterministic for a given ``seed`` (a shape ``[2]`` int tensor, as for
    ``tf.random.stateless_uniform``), so masking can change every epoch yet repeat exactly on resume.

    Args:
        ids: int token ids ``[batch, T]`` (0 = padding).
        seed: Stateless seed, shape ``[2]``.
        vocab_size: Tokenizer vocabulary size.
        rate: Fraction of real tokens to predict.
        mask_id: Id of ``[MASK]``.

    Returns:
        ``(inputs, labels, weights)``: corrupted ids, the original ids, and 1.0 where a token was chosen.

    Example:
        >>> inputs, labels, weights = mask_tokens(ids, tf.constant([0, 1]), vocab_size=8000)
    """
    if not 0.0 < rate < 1.0:
        raise ValueError(f"`rate` must be in (0, 1), got {rate!r}")
    first_regular = len(RESERVED_TOKENS)
    if vocab_size <= first_regular:
        raise ValueError(f"`vocab_size`={vocab_size} leaves no regular tokens after the reserved ids")
    ids = tf.convert_to_tensor(ids)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=3)
    eligible = ids >= first_regular
    chosen = tf.logical_and(eligible, tf.random.stateless_uniform(tf.shape(ids), seeds[0]) < rate)
    action = tf.random.stateless_uniform(tf.shape(ids), seeds[1])
    random_ids = tf.random.stateless_uniform(
        tf.shape(ids), seeds[2], minval=first_regular, maxval=vocab_size, dtype=tf.int64)
    inputs = tf.where(tf.logical_and(chosen, action < 0.8), tf.cast(mask_id, ids.dtype), ids)
    inputs = tf.where(tf.logical_and(chosen, tf.logical_and(action >= 0.8, action < 0.9)),
                      tf.cast(random_ids, ids.dtype), inputs)
    return inputs, ids, tf.cast(chosen, tf.float32)


def shift_for_next_token(ids):
    """Split ``[batch, T]`` ids into model inputs ``ids[:, :-1]``, targets ``ids[:, 1:]`` and target weights.

    Args:
        ids: int token ids ``[batch, T]`` (0 = padding).

    Returns:
        ``(inputs, targets, weights)`` with weights 0.0 where the target is padding.

    Example:
        >>> inputs, targets, weights = shift_for_next_token(tf.constant([[2, 7, 9, 0]]))
    """
    ids = tf.convert_to_tensor(ids)
    targets = ids[:, 1:]
    return ids[:, :-1], targets, tf.cast(tf.not_equal(targets, PAD_ID), tf.float32)
