"""Sentence embeddings from a pretrained checkpoint folder (``zoo.embed``, ``zoo embed``).

The checkpoint's backbone reads each text as its tokenizer packs it (``[CLS] text [SEP]``, cut to the
checkpoint's ``max_seq_length``), and its token vectors become one vector per text the way the checkpoint's
sentence-transformers files say (``zoo.converters.sentence_transformers``: all-MiniLM-L6-v2 mean-pools the
real tokens and normalises to unit length), so cosine similarity is a dot product.
"""
import dataclasses

import numpy as np
import tensorflow as tf

DEFAULT_BATCH_SIZE = 64


@dataclasses.dataclass
class Embeddings:
    """What ``embed`` returns.

    Attributes:
        vectors: ``[N, d]`` float32, one row per text, in input order.
        truncated: ``[N]`` whether a text had more tokens than ``sequence_length`` and was embedded from the
            first ones.
        sequence_length: The most tokens a text was read with (special tokens included).
        pooling: The checkpoint's ``SentencePooling``.
    """

    vectors: np.ndarray
    truncated: np.ndarray
    sequence_length: int
    pooling: object


def embed(checkpoint, texts, *, batch_size=DEFAULT_BATCH_SIZE, sequence_length=None):
    """Embed texts with a pretrained checkpoint folder, pooled as the checkpoint says.

    Args:
        checkpoint: A BERT checkpoint folder (Hugging Face or keras-hub, see ``zoo.from_pretrained``).
        texts: A list of strings.
        batch_size: Texts per model call.
        sequence_length: Most tokens per text, ``[CLS]`` and ``[SEP]`` included (default: the checkpoint's
            ``max_seq_length``, else its position range).

    Returns:
        ``Embeddings``.

    Raises:
        ValueError: no texts, a text that is not a string, or a bad ``batch_size`` / ``sequence_length``.

    Example:
        >>> e = embed("checkpoints/all-MiniLM-L6-v2", ["a gripping film", "an exciting movie", "stocks fell"])
        >>> e.vectors.shape, bool(e.vectors[0] @ e.vectors[1] > e.vectors[0] @ e.vectors[2])
        ((3, 384), True)
    """
    from zoo.converters import from_pretrained
    from zoo.converters.sentence_transformers import read_pooling

    if isinstance(texts, str) or not texts or not all(isinstance(text, str) for text in texts):
        raise ValueError(f"texts must be a non-empty list of strings, got {texts!r:.80}")
    for name, value in (("batch_size", batch_size), ("sequence_length", sequence_length)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} (--{name.replace('_', '-')}) must be a positive integer, got {value!r}")
    pooling = read_pooling(checkpoint)
    backbone, tokenizer = from_pretrained(checkpoint, task=None)
    limit = backbone.sequence_length
    length = sequence_length or min(pooling.max_seq_length or limit, limit)
    if length > limit:
        raise ValueError(f"sequence_length (--sequence-length) {length} exceeds the checkpoint's {limit} positions")
    # Batches of texts of similar length pad little; the rows go back to input order at the end.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = np.zeros((len(texts), backbone.d_model), np.float32)
    truncated = np.zeros(len(texts), bool)
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        batch = tf.constant([texts[i] for i in rows])
        packed = tokenizer.pack(batch, sequence_length=length)
        width = int(tf.reduce_max(tf.reduce_sum(tf.cast(packed["padding_mask"], tf.int32), axis=1)))
        packed = {key: value[:, :width] for key, value in packed.items()}
        tokens = backbone(packed, training=False)["sequence_output"]
        vectors[rows] = _pool(tf.cast(tokens, tf.float32), packed["padding_mask"], pooling).numpy()
        # tokenize() frames each text as [CLS] text [SEP], as pack does.
        truncated[rows] = tokenizer.tokenize(batch).row_lengths().numpy() > length
    return Embeddings(vectors, truncated, length, pooling)


def _pool(tokens, padding_mask, pooling):
    """One vector per row of ``tokens`` ``[B, T, d]`` over its real positions (``padding_mask``)."""
    real = tf.cast(padding_mask, tokens.dtype)[..., None]
    if pooling.mode == "cls":
        vector = tokens[:, 0]
    elif pooling.mode == "max":
        vector = tf.reduce_max(tf.where(real > 0, tokens, tokens.dtype.min), axis=1)
    else:
        vector = tf.reduce_sum(tokens * real, axis=1) / tf.maximum(tf.reduce_sum(real, axis=1), 1e-9)
    return tf.math.l2_normalize(vector, axis=-1, epsilon=1e-24) if pooling.normalize else vector
