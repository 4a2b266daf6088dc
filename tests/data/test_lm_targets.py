import numpy as np
import pytest
import tensorflow as tf

from zoo.data import MASK_ID, RESERVED_TOKENS, mask_tokens, shift_for_next_token

VOCAB = 1000


def _ids(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(len(RESERVED_TOKENS), VOCAB, size=(400, 50))
    ids[:, 0] = 2  # [CLS]
    ids[:, 40:] = 0
    return ids.astype("int32")


def test_masking_follows_bert_proportions_and_skips_reserved_tokens():
    ids = _ids()
    inputs, labels, weights = (t.numpy() for t in mask_tokens(ids, tf.constant([3, 4]), vocab_size=VOCAB))
    chosen = weights == 1.0
    real = ids >= len(RESERVED_TOKENS)
    assert not chosen[~real].any()
    np.testing.assert_array_equal(labels, ids)
    assert abs(chosen.sum() / real.sum() - 0.15) < 0.01
    masked = (inputs == MASK_ID) & chosen
    kept = (inputs == ids) & chosen
    replaced = chosen & ~masked & ~kept
    n = chosen.sum()
    assert abs(masked.sum() / n - 0.8) < 0.02
    # A random replacement can draw the original id (1 in 995), so "kept" is slightly above 10%.
    assert abs(kept.sum() / n - 0.1) < 0.02 and abs(replaced.sum() / n - 0.1) < 0.02
    assert (inputs[replaced] >= len(RESERVED_TOKENS)).all() and (inputs[replaced] < VOCAB).all()
    np.testing.assert_array_equal(inputs[~chosen], ids[~chosen])


def test_masking_is_deterministic_per_seed():
    ids = _ids()
    a = mask_tokens(ids, tf.constant([1, 2]), vocab_size=VOCAB)[0].numpy()
    b = mask_tokens(ids, tf.constant([1, 2]), vocab_size=VOCAB)[0].numpy()
    c = mask_tokens(ids, tf.constant([1, 3]), vocab_size=VOCAB)[0].numpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


@pytest.mark.parametrize("kwargs, match", [({"rate": 0.0}, "rate"), ({"vocab_size": 5}, "vocab_size")])
def test_bad_masking_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mask_tokens(_ids(), tf.constant([0, 0]), **{"vocab_size": VOCAB, **kwargs})


def test_next_token_shift_weights_out_padding():
    inputs, targets, weights = shift_for_next_token(tf.constant([[2, 7, 9, 0, 0]]))
    np.testing.assert_array_equal(inputs.numpy(), [[2, 7, 9, 0]])
    np.testing.assert_array_equal(targets.numpy(), [[7, 9, 0, 0]])
    np.testing.assert_array_equal(weights.numpy(), [[1, 1, 0, 0]])
