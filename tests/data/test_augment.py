"""Token augmentation: rates, protected ids, what each operation preserves, seeding across epochs."""
import collections

import numpy as np
import pytest
import tensorflow as tf

from zoo.data.augment import AugmentConfig, apply_augmentation, augment_ids
from zoo.data.errors import DataSpecError
from zoo.data.tokenizers import CLS_ID, MASK_ID, SEP_ID

N = 4000
IDS = tf.constant([CLS_ID] + list(np.random.default_rng(0).integers(5, 1000, size=N)) + [SEP_ID], tf.int32)
SEED = tf.constant([7, 11], tf.int64)


def test_masking_rate_and_protected_ids():
    out = augment_ids(IDS, SEED, AugmentConfig(mask=0.2)).numpy()
    original = IDS.numpy()
    changed = out != original
    assert (out[changed] == MASK_ID).all()
    assert out[0] == CLS_ID and out[-1] == SEP_ID
    # Binomial(4000, 0.2): standard deviation ~25 tokens.
    assert abs(changed.sum() - 0.2 * N) < 5 * np.sqrt(N * 0.2 * 0.8)


def test_deletion_keeps_order_of_survivors():
    out = augment_ids(IDS, SEED, AugmentConfig(delete=0.3)).numpy().tolist()
    original = IDS.numpy().tolist()
    assert out[0] == CLS_ID and out[-1] == SEP_ID
    it = iter(original)
    assert all(token in it for token in out)  # out is a subsequence of the original
    assert abs((len(original) - len(out)) - 0.3 * N) < 5 * np.sqrt(N * 0.3 * 0.7)


def test_deletion_never_empties_a_sequence():
    short = tf.constant([CLS_ID, 9], tf.int32)
    outs = {tuple(augment_ids(short, tf.constant([s, 0], tf.int64), AugmentConfig(delete=0.9)).numpy())
            for s in range(30)}
    assert outs == {(CLS_ID, 9)}


def test_swap_permutes_without_changing_the_tokens():
    out = augment_ids(IDS, SEED, AugmentConfig(swap=0.1)).numpy()
    original = IDS.numpy()
    assert collections.Counter(out.tolist()) == collections.Counter(original.tolist())
    moved = (out != original).sum()
    assert 0 < moved <= 0.1 * N + 5 * np.sqrt(N * 0.1 * 0.9)
    assert out[0] == CLS_ID and out[-1] == SEP_ID


def test_same_seed_same_result_and_epochs_differ():
    config = AugmentConfig(mask=0.3, seed=5)
    rows = tf.data.Dataset.from_tensor_slices((tf.reshape(IDS[1:1 + 40 * 50], [40, 50]), tf.fill([40], 50)))
    dataset = apply_augmentation(rows, config, 50)
    epoch1 = np.stack(list(dataset.as_numpy_iterator()))
    epoch2 = np.stack(list(dataset.as_numpy_iterator()))
    again = np.stack(list(apply_augmentation(rows, config, 50).as_numpy_iterator()))
    np.testing.assert_array_equal(epoch1, again)
    assert (epoch1 != epoch2).any()


def test_padded_rows_are_augmented_within_their_length_and_repadded():
    rows = tf.data.Dataset.from_tensor_slices(([[CLS_ID, 9, 8, 7, 0, 0], [CLS_ID, 5, 0, 0, 0, 0]], [4, 2], [1, 0]))
    out = list(apply_augmentation(rows, AugmentConfig(delete=0.5, seed=2), 6, keep_length=True)
               .as_numpy_iterator())
    for (ids, length, label), original in zip(out, ([CLS_ID, 9, 8, 7], [CLS_ID, 5])):
        assert ids.shape == (6,) and (ids[length:] == 0).all() and 2 <= length <= len(original)
        it = iter(original)
        assert all(token in it for token in ids[:length].tolist())
    assert [label for _, _, label in out] == [1, 0]


def test_inactive_config_is_the_identity():
    rows = tf.data.Dataset.from_tensor_slices(tf.reshape(IDS[:40], [4, 10]))
    assert apply_augmentation(rows, AugmentConfig(), 10) is rows


@pytest.mark.parametrize("values", [{"delete": 1.0}, {"swap": -0.1}, {"mask": True}, {"seed": 1.5}])
def test_bad_probabilities(values):
    with pytest.raises(DataSpecError):
        AugmentConfig(**values)
