import keras
import numpy as np
import pytest

from tests import reference as ref
from tests.harness import run_layer_test, to_numpy
from zoo.layers import RotaryEmbedding, SinusoidalPositionEncoding, TokenAndPositionEmbedding

IDS = np.array([[5, 9, 3, 0, 0], [1, 2, 3, 4, 7]], dtype="int32")


@pytest.mark.parametrize("positional", ["learned", "sinusoidal", "none"])
def test_embedding_is_token_row_plus_position(positional):
    layer = TokenAndPositionEmbedding(vocab_size=10, sequence_length=8, d_model=6, positional=positional)
    out = to_numpy(layer(IDS))
    table = ref.w(layer.token_embedding.embeddings)[IDS]
    if positional == "learned":
        table = table + ref.w(layer.position_embedding)[:5][None]
    elif positional == "sinusoidal":
        table = table + ref.sinusoidal(5, 6)[None]
    np.testing.assert_allclose(out, table, atol=1e-6)


def test_start_index_shifts_positions_for_cached_decoding():
    layer = TokenAndPositionEmbedding(vocab_size=10, sequence_length=8, d_model=6)
    full = to_numpy(layer(IDS))
    step = to_numpy(layer(IDS[:, 3:4], start_index=3))
    np.testing.assert_allclose(step, full[:, 3:4], atol=1e-6)


def test_mask_zero_marks_padding_and_reaches_the_next_layer():
    layer = TokenAndPositionEmbedding(vocab_size=10, sequence_length=8, d_model=6)
    np.testing.assert_array_equal(to_numpy(layer.compute_mask(IDS)), IDS != 0)
    assert TokenAndPositionEmbedding(10, 8, 6, mask_zero=False).compute_mask(IDS) is None

    seen = {}

    class Probe(keras.layers.Layer):
        def call(self, x, mask=None):
            seen["mask"] = mask
            return x

    inputs = keras.Input((5,), dtype="int32")
    keras.Model(inputs, Probe()(layer(inputs)))(IDS)
    np.testing.assert_array_equal(to_numpy(seen["mask"]), IDS != 0)


def test_sinusoidal_encoding_matches_formula():
    x = np.zeros((2, 9, 12), "float32")
    np.testing.assert_allclose(to_numpy(SinusoidalPositionEncoding()(x))[1], ref.sinusoidal(9, 12), atol=1e-5)
    assert not SinusoidalPositionEncoding().weights


def test_rotary_matches_numpy_and_sees_only_relative_positions():
    x = np.random.default_rng(1).normal(size=(1, 6, 2, 8)).astype("float32")
    rope = RotaryEmbedding()
    np.testing.assert_allclose(to_numpy(rope(x, start_index=3)), ref.rotary(x, start=3), atol=1e-5)
    q = np.broadcast_to(x[:, :1], x.shape).copy()
    k = np.broadcast_to(x[:, 1:2], x.shape).copy()
    dots = np.einsum("bthd,bthd->bth", to_numpy(rope(q)), to_numpy(rope(k, start_index=2)))
    np.testing.assert_allclose(dots, np.broadcast_to(dots[:, :1], dots.shape), atol=1e-4)


def test_layer_contracts(tmp_path):
    run_layer_test(TokenAndPositionEmbedding, {"vocab_size": 10, "sequence_length": 8, "d_model": 6}, [IDS],
                   expected_shape=(2, 5, 6), tmp_path=tmp_path)
    run_layer_test(SinusoidalPositionEncoding, {"max_wavelength": 500}, [np.ones((2, 5, 6), "float32")],
                   expected_shape=(2, 5, 6), tmp_path=tmp_path)
    run_layer_test(RotaryEmbedding, {"max_wavelength": 500}, [np.ones((2, 5, 2, 6), "float32")],
                   expected_shape=(2, 5, 2, 6), tmp_path=tmp_path)


@pytest.mark.parametrize("kwargs, argument", [
    ({"vocab_size": 0, "sequence_length": 8, "d_model": 6}, "vocab_size"),
    ({"vocab_size": 10, "sequence_length": -2, "d_model": 6}, "sequence_length"),
    ({"vocab_size": 10, "sequence_length": 8, "d_model": 0}, "d_model"),
    ({"vocab_size": 10, "sequence_length": 8, "d_model": 6, "positional": "alibi"}, "positional"),
])
def test_bad_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        TokenAndPositionEmbedding(**kwargs)
