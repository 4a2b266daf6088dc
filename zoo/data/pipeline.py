"""``make_dataset``: texts and labels to a ``tf.data`` pipeline of int32 token ids.

Tokenisation and padding run on chunks of texts (tensorflow-text ops are vectorised; per-example calls
cost more than the tokenising itself on this CPU), then the dense rows go through cache, shuffle,
augmentation, bucketing or batching, and prefetch.
"""
import numpy as np
import tensorflow as tf

from zoo.data.augment import AugmentConfig, apply_augmentation
from zoo.data.errors import DataError, DataSpecError
from zoo.data.labeled import LabeledTexts, text_list
from zoo.data.tokenizers import Tokenizer

PAD_MODES = ("fixed", "bucket")
_CHUNK = 1024


def _positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DataSpecError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


def default_bucket_lengths(sequence_length):
    """Padded lengths for ``pad_to="bucket"``: ``T/8, T/4, T/2, T`` (few shapes, so few retraces).

    Args:
        sequence_length: ``T``.

    Example:
        >>> default_bucket_lengths(128)
        [16, 32, 64, 128]
    """
    lengths = sorted({max(1, sequence_length // d) for d in (8, 4, 2)} | {sequence_length})
    return [n for n in lengths if n <= sequence_length]


def make_dataset(texts, labels, tokenizer, *, sequence_length, batch_size=None, shuffle=False, seed=None,
                 pad_to="fixed", cache=True, augment=None, drop_remainder=False, bucket_lengths=None,
                 input_context=None):
    """Build a ``tf.data.Dataset`` of ``(int32 token_ids, int32 labels)`` from raw texts.

    Args:
        texts: Raw strings (a list, array or ``LabeledTexts``, whose labels are used when ``labels`` is None);
            not sentence pairs (see ``BertTokenizer.pack``).
        labels: Integer label ids, one per text (not a multi-label matrix); ``None`` with plain texts gives ids
            only (for prediction).
        tokenizer: A fitted ``zoo.data`` tokenizer (it also cleans).
        sequence_length: ``T``: the ids are ``tokenizer.encode(texts, T)``, so a ``[CLS]`` prefix (and a BERT
            tokenizer's ``[SEP]``, which truncation keeps) counts in it; ``pad_to="bucket"`` cuts the padding.
        batch_size: Batch size; ``None`` yields unbatched ``[T]`` examples (batch per replica yourself).
        shuffle: Shuffle the whole data set, reshuffling each epoch.
        seed: Shuffle seed (``None``: not reproducible).
        pad_to: ``"fixed"`` (``[B, T]``) or ``"bucket"`` (batches of similar length padded to the bucket's
            length from ``bucket_lengths``; needs ``batch_size``).
        cache: Cache token ids in memory after the first epoch.
        augment: An ``AugmentConfig`` (or dict) for training-time augmentation; ``None`` for none.
        drop_remainder: Drop the last partial batch (static batch dimension); with ``pad_to="bucket"`` each
            bucket drops its own, so up to one batch less an example per bucket goes unused.
        bucket_lengths: Padded lengths for bucketing (default ``default_bucket_lengths(T)``).
        input_context: A ``tf.distribute.InputContext``: keep only this input pipeline's shard of the
            texts, before tokenising (``batch_size`` stays per replica).

    Returns:
        ``tf.data.Dataset`` of ``(token_ids, labels)``, or of ``token_ids`` without labels.

    Example:
        >>> train = zoo.data.load("reviews.jsonl")
        >>> tok = zoo.data.build_tokenizer("word", 500).fit(train.texts)
        >>> ds = make_dataset(train.texts, train.labels, tok, sequence_length=64, batch_size=32,
        ...                   shuffle=True, seed=0)
        >>> ids, y = next(iter(ds))
        >>> tuple(ids.shape), tuple(y.shape), ids.dtype
        ((32, 64), (32,), tf.int32)
    """
    if isinstance(texts, LabeledTexts):
        if texts.is_pairs:
            raise DataSpecError(
                "make_dataset reads one text per example, but these are sentence pairs (text_pairs), whose "
                "second texts it would drop; pack each pair into one sequence with a BERT tokenizer's "
                "pack(first, second, sequence_length=...), as zoo.training.data.pack does", path=texts.source)
        labels = texts.labels if labels is None else labels
        texts = texts.texts
    texts = text_list(texts)
    if not isinstance(tokenizer, Tokenizer):
        raise DataSpecError(f"tokenizer must be a zoo.data tokenizer, not {type(tokenizer).__name__}")
    tokenizer._require_fitted()
    sequence_length = _positive_int("sequence_length", sequence_length)
    batch_size = _positive_int("batch_size", batch_size, allow_none=True)
    if pad_to not in PAD_MODES:
        raise DataSpecError(f"pad_to must be one of {', '.join(PAD_MODES)}, not {pad_to!r}")
    if pad_to == "bucket" and batch_size is None:
        raise DataSpecError("pad_to='bucket' pads per batch, so it needs batch_size; use pad_to='fixed' for an "
                            "unbatched dataset")
    if isinstance(augment, dict):
        augment = AugmentConfig.from_dict(augment)
    if augment is not None and not isinstance(augment, AugmentConfig):
        raise DataSpecError(f"augment must be an AugmentConfig, a dict or None, not {type(augment).__name__}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise DataSpecError(f"seed must be an integer or None, not {seed!r}")
    if not texts:
        raise DataError("make_dataset got zero texts")

    strings = tf.constant(texts, tf.string)
    has_labels = labels is not None
    if has_labels:
        labels = np.asarray(labels)
        if labels.ndim == 2 and len(labels) == len(texts):
            raise DataSpecError(
                f"make_dataset yields one label id per text, and these labels are multi-label (a multi-hot matrix "
                f"of shape {labels.shape}); encode the texts with tokenizer.encode(texts, sequence_length) and "
                "pair them with the matrix (tf.data.Dataset.from_tensor_slices), as zoo.training.data does")
        if labels.shape != (len(texts),):
            raise DataError(f"{len(texts)} texts but labels of shape {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"labels must be integer ids (dtype {labels.dtype}); map strings with zoo.data.load")
        dataset = tf.data.Dataset.from_tensor_slices((strings, labels.astype(np.int32)))
    else:
        dataset = tf.data.Dataset.from_tensor_slices(strings)
    if input_context is not None:
        dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    augment = augment if augment is not None and augment.active else None
    bucket = pad_to == "bucket"
    if bucket:
        lengths = sorted(set(bucket_lengths or default_bucket_lengths(sequence_length)))
        if lengths[0] < 1 or lengths[-1] > sequence_length:
            raise DataSpecError(f"bucket_lengths must lie in [1, sequence_length={sequence_length}], got {lengths}")
        if lengths[-1] < sequence_length:
            lengths.append(sequence_length)

    # Elements are (ids [T] padded, *length, *label): lengths ride along only where bucketing or
    # augmentation needs them. Apart from augmentation, no function runs per example: per-example
    # function calls cost more than tokenising on this CPU.
    @tf.autograph.experimental.do_not_convert  # as every function mapped here: no branch on a tensor
    def encode(batch, *label):
        # The tokenizer's own encode, so the ids are what its serving signature gives (BERT's keep [SEP]).
        dense = tokenizer.encode(batch, sequence_length)
        # Padding only follows the ids, and text never produces the padding id.
        lengths = tf.reduce_sum(tf.cast(dense != tokenizer.pad_id, tf.int32), axis=1)
        extra = (lengths,) if bucket or augment else ()
        element = (dense, *extra, *label)
        return element if len(element) > 1 else dense

    dataset = dataset.batch(_CHUNK).map(encode, num_parallel_calls=tf.data.AUTOTUNE).unbatch()
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(len(texts) if input_context is None else
                                  -(-len(texts) // input_context.num_input_pipelines),
                                  seed=seed, reshuffle_each_iteration=True)
    if augment is not None:
        dataset = apply_augmentation(dataset, augment, sequence_length, keep_length=bucket,
                                     special_ids=tokenizer.special_ids)
    if bucket:
        dataset = _bucket(dataset, lengths, batch_size, drop_remainder)
    elif batch_size is not None:
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _bucket(dataset, lengths, batch_size, drop_remainder):
    """Batch examples of similar length, each batch cut to its bucket's padded length."""
    bounds = tf.constant(lengths, tf.int32)

    def bucket_of(length):
        return tf.cast(tf.searchsorted(bounds, tf.reshape(length, [1]), side="left")[0], tf.int64)

    dataset = dataset.group_by_window(
        key_func=tf.autograph.experimental.do_not_convert(lambda ids, length, *label: bucket_of(length)),
        reduce_func=tf.autograph.experimental.do_not_convert(
            lambda key, window: window.batch(batch_size, drop_remainder=drop_remainder)),
        window_size=batch_size)

    @tf.autograph.experimental.do_not_convert
    def cut(ids, length, *label):
        width = tf.gather(bounds, bucket_of(tf.reduce_max(length)))
        return (ids[:, :width], *label) if label else ids[:, :width]

    return dataset.map(cut, num_parallel_calls=tf.data.AUTOTUNE)
