import keras
import numpy as np
import pytest

from tests import reference as ref
from tests.harness import gradients, run_layer_test, to_numpy
from zoo.layers import LayerNormalization

RNG = np.random.default_rng(11)
X = (RNG.normal(size=(2, 3, 8)) * 3 + 1).astype("float32")


def _norm(epsilon=1e-12, **kwargs):
    norm = LayerNormalization(epsilon=epsilon, **kwargs)
    norm.build(X.shape)
    norm.set_weights([RNG.normal(size=8).astype("float32"), RNG.normal(size=8).astype("float32")])
    return norm


def test_matches_numpy():
    norm = _norm(epsilon=1e-3)
    np.testing.assert_allclose(to_numpy(norm(X)), ref.layer_norm(X.astype(np.float64), norm), atol=1e-5)


def test_gradients_match_finite_differences_of_the_float64_reference():
    """The gradient is written by hand: check it for x, gamma and beta against central differences."""
    norm = _norm()
    x = keras.Variable(X)
    got = gradients(lambda: norm(x), [x, norm.gamma, norm.beta])  # of sum(norm(x) ** 2)

    def loss(values):
        x64, gamma, beta = values
        mean, var = x64.mean(-1, keepdims=True), x64.var(-1, keepdims=True)
        return np.sum(((x64 - mean) / np.sqrt(var + norm.epsilon) * gamma + beta) ** 2)

    values = [X.astype(np.float64), ref.w(norm.gamma), ref.w(norm.beta)]
    for index, grad in enumerate(got):
        expected = np.zeros_like(values[index])
        for position in np.ndindex(expected.shape):
            shifted = [[v.copy() for v in values] for _ in range(2)]
            shifted[0][index][position] += 1e-6
            shifted[1][index][position] -= 1e-6
            expected[position] = (loss(shifted[0]) - loss(shifted[1])) / 2e-6
        np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "bfloat16"])  # bfloat16: the weights stored in bfloat16 too
def test_bfloat16_normalises_in_float32_and_rounds_once(policy):
    norm = _norm(dtype=policy)
    inputs = keras.ops.cast(X, "bfloat16")
    out = norm(inputs)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    expected = ref.layer_norm(to_numpy(keras.ops.cast(inputs, "float32")).astype(np.float64), norm)
    np.testing.assert_allclose(to_numpy(keras.ops.cast(out, "float32")), expected, rtol=2.0 ** -8, atol=1e-6)


def test_layer_contract(tmp_path):
    run_layer_test(LayerNormalization, {"epsilon": 1e-6}, [X], expected_shape=X.shape, tmp_path=tmp_path)


@pytest.mark.parametrize("kwargs, name", [({"axis": 1}, "`axis`"), ({"center": False}, "`center`"),
                                          ({"scale": False}, "`scale`"), ({"rms_scaling": True}, "`rms_scaling`"),
                                          ({"epsilon": -1.0}, "`epsilon` must be a positive number"),
                                          ({"epsilon": 0}, "`epsilon` must be a positive number")])
def test_unsupported_settings_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LayerNormalization(**kwargs)
