import keras
import numpy as np
import pytest

from tests.harness import to_numpy
from zoo.layers import PackTokens, UnpackTokens

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="token packing runs on TensorFlow only")

RNG = np.random.default_rng(5)


def test_pack_keeps_the_real_rows_batch_major_and_unpack_restores_them_with_zeros():
    x = RNG.normal(size=(3, 4, 2)).astype("float32")
    mask = np.array([[1, 1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]], bool)
    rows = to_numpy(PackTokens()(x, mask))
    np.testing.assert_array_equal(rows, np.concatenate([x[0, :2], x[2]]))
    restored = to_numpy(UnpackTokens()(rows, mask))
    np.testing.assert_array_equal(restored, np.where(mask[..., None], x, 0.0))


def test_shapes_of_a_functional_graph_and_the_mask_it_carries():
    x = keras.Input((None, 8))
    mask = keras.Input((None,), dtype="bool")
    rows = PackTokens()(x, mask)
    assert tuple(rows.shape) == (None, 8)
    assert tuple(UnpackTokens()(rows, mask).shape) == (None, None, 8)
    model = keras.Model([x, mask], UnpackTokens()(keras.layers.Dense(3)(PackTokens()(x, mask)), mask))
    out = to_numpy(model([np.ones((2, 5, 8), "float32"), np.arange(5)[None] < np.array([[5], [2]])]))
    assert out.shape == (2, 5, 3) and np.all(out[1, 2:] == 0) and np.all(out[0] != 0)


def test_gradients_flow_to_the_real_rows_only_inside_a_tf_function():
    import tensorflow as tf

    x = tf.constant(RNG.normal(size=(2, 3, 4)).astype("float32"))
    mask = tf.constant([[True, False, False], [True, True, True]])

    @tf.function
    def grad():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(UnpackTokens()(PackTokens()(x, mask) * 2.0, mask))
        return tape.gradient(loss, x)

    np.testing.assert_array_equal(to_numpy(grad()), 2.0 * to_numpy(mask)[..., None] * np.ones((2, 3, 4)))
