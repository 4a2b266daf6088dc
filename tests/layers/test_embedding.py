import keras
import numpy as np
import pytest

from tests import reference as ref
from tests.harness import run_layer_test, to_numpy
from zoo.layers import PositionEmbedding, RotaryEmbedding, TokenEmbedding

IDS = np.array([[5, 9, 3, 0, 0], [1, 2, 3, 4, 7]], dtype="int32")


@pytest.mark.parametrize("positional", ["learned", "sinusoidal"])
def test_position_signal_is_the_table_rows_or_the_sinusoid_formula(positional):
    layer = PositionEmbedding(sequence_length=8, d_model=6, positional=positional)
    out = to_numpy(layer(IDS))
    expected = ref.w(layer.embeddings)[:5] if positional == "learned" else ref.sinusoidal(5, 6)
    np.testing.assert_allclose(out, expected[None], atol=1e-5)
    assert bool(layer.weights) == (positional == "learned")


def test_token_embedding_looks_up_rows_and_reverse_projects_on_the_same_table():
    layer = TokenEmbedding(vocab_size=10, d_model=6)
    out = to_numpy(layer(IDS))
    table = ref.w(layer.embeddings)
    np.testing.assert_allclose(out, table[IDS], atol=1e-6)
    hidden = np.random.default_rng(0).normal(size=(2, 3, 6)).astype("float32")
    logits = layer(hidden, reverse=True)
    assert logits.dtype == "float32"
    np.testing.assert_allclose(to_numpy(logits), hidden @ table.T, atol=1e-5)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="reads the traced TensorFlow graph")
@pytest.mark.parametrize("layer, table_shape", [
    (TokenEmbedding(vocab_size=50, d_model=6, dtype="mixed_bfloat16"), [50, 6]),
    (PositionEmbedding(sequence_length=40, d_model=6, dtype="mixed_bfloat16"), [40, 6]),
])
def test_mixed_precision_casts_only_the_rows_used_not_the_table(layer, table_shape):
    """Under ``mixed_bfloat16`` the float32 table is read and the gathered rows cast, never the whole table."""
    import tensorflow as tf

    layer.build()
    graph = tf.function(layer).get_concrete_function(tf.TensorSpec([2, 5], tf.int32)).graph
    casts = [op.outputs[0].shape.as_list() for op in graph.get_operations() if op.type == "Cast"]
    assert casts and table_shape not in casts, casts  # the rows are cast (some Cast), the table is not
    table = ref.w(layer.embeddings)
    rows = table[IDS] if isinstance(layer, TokenEmbedding) else table[None, :5]
    out = layer(IDS)
    assert out.dtype == "bfloat16"
    np.testing.assert_array_equal(to_numpy(keras.ops.cast(out, "float32")),
                                  to_numpy(keras.ops.cast(keras.ops.cast(rows, "bfloat16"), "float32")))


@pytest.mark.parametrize("positional", ["learned", "sinusoidal"])
def test_start_index_shifts_positions_for_cached_decoding(positional):
    layer = PositionEmbedding(sequence_length=8, d_model=6, positional=positional)
    full = to_numpy(layer(IDS))
    step = to_numpy(layer(IDS[:, 3:4], start_index=3))
    np.testing.assert_allclose(step, full[:, 3:4], atol=1e-6)


@pytest.mark.parametrize("positional", ["learned", "sinusoidal"])
def test_positions_must_lie_below_the_sequence_length(positional):
    layer = PositionEmbedding(sequence_length=8, d_model=6, positional=positional)
    last = to_numpy(layer(IDS[:, :3], start_index=5))  # positions 5..7: the last three
    expected = ref.w(layer.embeddings)[5:] if positional == "learned" else ref.sinusoidal(8, 6)[5:]
    np.testing.assert_allclose(last, expected[None], atol=1e-5)
    for length, start in ((9, 0), (3, 6), (1, 8), (2, -1)):
        with pytest.raises(ValueError, match=rf"positions {start}\.\.{start + length - 1} .*sequence_length=8"):
            layer(np.zeros((1, length), "int32"), start_index=start)


def test_rotary_matches_numpy_and_sees_only_relative_positions():
    x = np.random.default_rng(1).normal(size=(1, 6, 2, 8)).astype("float32")
    rope = RotaryEmbedding()
    np.testing.assert_allclose(to_numpy(rope(x, start_index=3)), ref.rotary(x, start=3), atol=1e-5)
    q = np.broadcast_to(x[:, :1], x.shape).copy()
    k = np.broadcast_to(x[:, 1:2], x.shape).copy()
    dots = np.einsum("bthd,bthd->bth", to_numpy(rope(q)), to_numpy(rope(k, start_index=2)))
    np.testing.assert_allclose(dots, np.broadcast_to(dots[:, :1], dots.shape), atol=1e-4)


def test_rotary_scaling_factor_divides_the_positions():
    x = np.random.default_rng(2).normal(size=(1, 8, 2, 8)).astype("float32")
    stretched = to_numpy(RotaryEmbedding(scaling_factor=2.0)(x, start_index=2))
    # Positions 2, 4, .. divided by 2 are the unscaled positions 1, 2, ..
    np.testing.assert_allclose(stretched[:, ::2], ref.rotary(x[:, ::2], start=1), atol=1e-5)


def test_layer_contracts(tmp_path):
    run_layer_test(TokenEmbedding, {"vocab_size": 10, "d_model": 6}, [IDS], expected_shape=(2, 5, 6),
                   tmp_path=tmp_path)
    run_layer_test(PositionEmbedding, {"sequence_length": 8, "d_model": 6}, [IDS], expected_shape=(1, 5, 6),
                   tmp_path=tmp_path)
    run_layer_test(PositionEmbedding, {"sequence_length": 8, "d_model": 6, "positional": "sinusoidal",
                                       "max_wavelength": 500}, [IDS], expected_shape=(1, 5, 6), tmp_path=tmp_path)
    run_layer_test(RotaryEmbedding, {"max_wavelength": 500}, [np.ones((2, 5, 2, 6), "float32")],
                   expected_shape=(2, 5, 2, 6), tmp_path=tmp_path)


@pytest.mark.parametrize("layer, kwargs, argument", [
    (TokenEmbedding, {"vocab_size": 0, "d_model": 6}, "vocab_size"),
    (TokenEmbedding, {"vocab_size": 10, "d_model": 0}, "d_model"),
    (PositionEmbedding, {"sequence_length": -2, "d_model": 6}, "sequence_length"),
    (PositionEmbedding, {"sequence_length": 8, "d_model": 6, "positional": "alibi"}, "positional"),
])
def test_bad_arguments_name_the_argument(layer, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        layer(**kwargs)
