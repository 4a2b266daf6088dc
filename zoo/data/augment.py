"""Training-time token augmentation (off by default): random deletion, swap and masking of token ids.

Runs per example inside ``tf.data`` with stateless random ops. Each example draws its seeds from
``tf.data.Dataset.random(seed, rerandomize_each_iteration=True)``: a run is reproducible from the seed,
yet every epoch sees different augmentations. ``[PAD]``, ``[CLS]`` and ``[SEP]`` are never touched.
"""
import dataclasses

import tensorflow as tf

from zoo.data.errors import DataSpecError
from zoo.data.special_tokens import LEARNED_IDS


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Per-token probabilities of each augmentation, and the seed.

    Args:
        delete: Probability of dropping each token (a sequence never loses all its tokens).
        swap: Probability of each token taking part in a random exchange of positions.
        mask: Probability of replacing each token with ``[MASK]``.
        seed: Integer seed; ``None`` draws a fresh one.

    Example:
        >>> tok = zoo.data.WordTokenizer(100).fit(["a great film", "a dull film"])
        >>> ds = zoo.data.make_dataset(["a great film"] * 3, None, tok, sequence_length=4,
        ...                            augment=AugmentConfig(mask=0.5, seed=1))
        >>> [ids.tolist() for ids in ds.as_numpy_iterator()]  # [MASK] is id 4
        [[4, 8, 4, 0], [5, 4, 6, 0], [4, 4, 6, 0]]
    """

    delete: float = 0.0
    swap: float = 0.0
    mask: float = 0.0
    seed: int = None

    def __post_init__(self):
        for name in ("delete", "swap", "mask"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise DataSpecError(f"augment.{name} is a probability in [0, 1), not {value!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise DataSpecError(f"augment.seed must be an integer or None, not {self.seed!r}")

    @property
    def active(self):
        """Whether any augmentation has a non-zero probability."""
        return self.delete > 0 or self.swap > 0 or self.mask > 0

    @classmethod
    def from_dict(cls, values):
        """Build from a dict (e.g. a config file section); unknown keys are an error naming them."""
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise DataSpecError(f"unknown augment option(s) {unknown}")
        return cls(**values)


def augment_ids(ids, seed, config, special_ids=LEARNED_IDS):
    """Augment one 1-D int32 sequence of token ids with stateless randomness.

    Args:
        ids: int32 ``[n]`` token ids (unpadded).
        seed: int ``[2]`` stateless seed.
        config: An ``AugmentConfig``.
        special_ids: The tokenizer's ``special_ids``: padding, ``[CLS]`` and ``[SEP]`` stay, ``[MASK]`` masks.

    Example:
        >>> augment_ids(tf.constant([2, 7, 8, 9]), tf.constant([1, 2]), AugmentConfig(mask=0.5)).numpy()
        array([2, 4, 8, 9], dtype=int32)
    """
    ids = tf.convert_to_tensor(ids, tf.int32)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 4)
    def protect(ids):
        return (ids == special_ids.pad) | (ids == special_ids.cls) | (ids == special_ids.sep)

    protected = protect(ids)
    if config.delete > 0:
        keep = protected | (tf.random.stateless_uniform(tf.shape(ids), seeds[0]) >= config.delete)
        # Deleting every word would leave nothing to classify: keep the sequence as it was.
        emptied = tf.reduce_any(~protected) & ~tf.reduce_any(keep & ~protected)
        ids = tf.boolean_mask(ids, keep | emptied)
        protected = protect(ids)
    if config.swap > 0:
        chosen = ~protected & (tf.random.stateless_uniform(tf.shape(ids), seeds[1]) < config.swap)
        positions = tf.where(chosen)
        shuffled = tf.random.experimental.stateless_shuffle(positions, seeds[2])
        ids = tf.tensor_scatter_nd_update(ids, positions, tf.gather_nd(ids, shuffled))
    if config.mask > 0:
        chosen = ~protected & (tf.random.stateless_uniform(tf.shape(ids), seeds[3]) < config.mask)
        ids = tf.where(chosen, tf.constant(special_ids.mask, tf.int32), ids)
    return ids


def apply_augmentation(dataset, config, sequence_length, keep_length=False, special_ids=LEARNED_IDS):
    """Augment a dataset of ``(ids [T] padded, length, *labels)`` elements, as ``make_dataset`` builds them.

    Args:
        dataset: Unbatched ``tf.data.Dataset``; ``length`` counts the real (unpadded) ids.
        config: An ``AugmentConfig`` (the dataset is returned unchanged when no probability is set).
        sequence_length: ``T``, the padded length.
        keep_length: Keep the (new) length in the elements, for bucketing; otherwise drop it.
        special_ids: The tokenizer's ``special_ids`` (see ``augment_ids``; padding fills the rest).

    Example:
        >>> ds = tf.data.Dataset.from_tensor_slices(([[2, 7, 8, 9, 0, 0], [2, 5, 6, 0, 0, 0]], [4, 3]))
        >>> ds = apply_augmentation(ds, AugmentConfig(delete=0.3, seed=0), sequence_length=6)
        >>> [ids.tolist() for ids in ds.as_numpy_iterator()]
        [[2, 7, 9, 0, 0, 0], [2, 5, 6, 0, 0, 0]]
        >>> [ids.tolist() for ids in ds.as_numpy_iterator()]  # the next epoch
        [[2, 7, 8, 0, 0, 0], [2, 5, 6, 0, 0, 0]]
    """
    if not config.active:
        return dataset
    seeds = tf.data.Dataset.random(seed=config.seed, rerandomize_each_iteration=True).batch(2)

    @tf.autograph.experimental.do_not_convert  # no branch on a tensor: autograph would add only tracing time
    def augment(element, seed):
        ids, length, *rest = element
        ids = augment_ids(ids[:length], seed, config, special_ids)
        new_length = tf.shape(ids)[0]
        ids = tf.ensure_shape(tf.pad(ids, [[0, sequence_length - new_length]], constant_values=special_ids.pad),
                              [sequence_length])
        out = (ids, new_length, *rest) if keep_length else (ids, *rest)
        return out if len(out) > 1 else out[0]

    return tf.data.Dataset.zip((dataset, seeds)).map(augment, num_parallel_calls=tf.data.AUTOTUNE)
