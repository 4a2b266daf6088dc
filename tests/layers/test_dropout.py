import math

import keras
import numpy as np
import pytest
from keras import ops

from tests.harness import run_layer_test, to_numpy
from zoo.layers import Dropout
from zoo.layers.dropout import LEVELS, PER_DRAW

X = np.random.default_rng(0).normal(size=(64, 100, 50)).astype("float32") + 3.0  # no exact zeros


def test_identity_outside_training_and_at_rate_zero():
    np.testing.assert_array_equal(to_numpy(Dropout(0.3, seed=1)(X)), X)
    np.testing.assert_array_equal(to_numpy(Dropout(0.3, seed=1)(X, training=False)), X)
    np.testing.assert_array_equal(to_numpy(Dropout(0.0, seed=1)(X, training=True)), X)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.01])
def test_drops_the_rounded_rate_and_scales_what_it_keeps(rate):
    layer = Dropout(rate, seed=3)
    out = to_numpy(layer(X, training=True))
    rounded = round(rate * LEVELS) / LEVELS
    kept = out != 0
    # 320,000 elements: the dropped fraction's standard deviation is under 9e-4.
    assert abs((1 - kept.mean()) - rounded) < 5 * np.sqrt(rounded * (1 - rounded) / X.size)
    np.testing.assert_allclose(out[kept], X[kept] / (1 - rounded), rtol=1e-6)


def test_the_three_fields_of_each_random_number_decide_independently():
    """Elements i, i + n and i + 2n (n = size / 3) share a random integer, one 10-bit field each: no correlation."""
    flat = to_numpy(Dropout(0.5, seed=4)(X, training=True)).reshape(-1) != 0
    n = -(-flat.size // PER_DRAW)
    fields = [flat[i * n:(i + 1) * n][: flat.size - (PER_DRAW - 1) * n] for i in range(PER_DRAW)]  # last is short
    for a, b in ((0, 1), (1, 2), (0, 2)):
        assert abs(np.corrcoef(fields[a], fields[b])[0, 1]) < 0.02
    assert abs(np.corrcoef(flat[:-1], flat[1:])[0, 1]) < 0.02
    # Each field alone drops the rate (a field stuck at 0 or 1 would still pass the correlations).
    for field in fields:
        assert abs(field.mean() - 0.5) < 0.01


def test_each_call_draws_a_new_mask_and_a_seed_repeats_the_stream():
    layer, twin = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
    first, second = (to_numpy(layer(X, training=True)) != 0 for _ in range(2))
    assert (first != second).mean() > 0.4
    np.testing.assert_array_equal(to_numpy(twin(X, training=True)) != 0, first)


def test_gradient_is_the_mask_times_the_scale():
    layer = Dropout(0.25, seed=5)
    x = keras.Variable(X[:4])
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            out = layer(x, training=True)
            total = ops.sum(out)
        grad = to_numpy(tape.gradient(total, x.value))
    else:
        import jax

        seed_state = layer.seed_generator.state.value
        grad = np.asarray(jax.grad(lambda v: ops.sum(layer(v, training=True)))(x.value))
        layer.seed_generator.state.assign(seed_state)
        out = layer(x, training=True)
    kept = to_numpy(out) != 0
    np.testing.assert_allclose(grad, np.where(kept, 1 / (1 - 0.25), 0.0), rtol=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="open shapes are a TensorFlow graph matter")
def test_runs_in_a_graph_with_open_batch_and_length():
    import tensorflow as tf

    layer = Dropout(0.1, seed=2)
    fn = tf.function(lambda x: layer(x, training=True), input_signature=[tf.TensorSpec([None, None, 50])])
    for length in (7, 100):  # an odd element count too
        out = fn(X[:3, :length]).numpy()
        assert out.shape == (3, length, 50) and 0.05 < (out == 0).mean() < 0.15


def test_mixed_precision_keeps_the_dtype():
    out = Dropout(0.1, seed=1, dtype="mixed_bfloat16")(X, training=True)
    assert out.dtype == "bfloat16"


def test_layer_contract(tmp_path):
    run_layer_test(Dropout, {"rate": 0.2, "seed": 3}, [X[:2, :5]], expected_shape=(2, 5, 50), tmp_path=tmp_path)


def test_rates_round_half_up_so_the_documented_bounds_hold_exactly():
    smallest, too_large = 2 ** -11, 1 - 2 ** -11  # the docstring's [2^-11, 1 - 2^-11)
    assert Dropout(smallest).threshold == 1  # drops 1 / 1024
    assert Dropout(1.5 / LEVELS).threshold == 2
    assert Dropout(math.nextafter(too_large, 0)).threshold == LEVELS - 1
    for rate in (math.nextafter(smallest, 0), too_large):
        with pytest.raises(ValueError, match="`rate`"):
            Dropout(rate)


@pytest.mark.parametrize("rate", [1.0, -0.1, "0.1", 0.0004, 0.9996])
def test_bad_rate_names_the_argument(rate):
    with pytest.raises(ValueError, match="`rate`"):
        Dropout(rate)


def test_a_numpy_integer_seed_is_the_int_it_equals():
    # keras.random.SeedGenerator refused np.int64(3) as "must be an integer. Received: seed=3".
    layer = Dropout(0.5, seed=np.int64(3))
    assert layer.get_config()["seed"] == 3 and type(layer.get_config()["seed"]) is int
    np.testing.assert_array_equal(to_numpy(layer(np.ones((2, 6), "float32"), training=True)),
                                  to_numpy(Dropout(0.5, seed=3)(np.ones((2, 6), "float32"), training=True)))


@pytest.mark.parametrize("seed", [2.5, True, "3"])
def test_a_seed_that_is_not_an_integer_names_the_argument(seed):
    with pytest.raises(ValueError, match="`seed` must be an integer"):
        Dropout(0.5, seed=seed)
