from types import SimpleNamespace

import keras
import numpy as np
import pytest

from tests import reference as ref
from tests.harness import gradients, run_layer_test, to_numpy
from zoo.layers import FeedForward, TransformerEncoderBlock

RNG = np.random.default_rng(2)
B, T, D = 2, 6, 16


def _x(*shape):
    return RNG.normal(size=shape).astype("float32")


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-ln", "post-ln"])
@pytest.mark.parametrize("activation", ["relu", "gelu", "gelu_tanh", "leaky_relu", "swish"])
def test_encoder_block_matches_numpy(norm_first, activation):
    block = TransformerEncoderBlock(D, 4, 32, activation=activation, norm_first=norm_first)
    x = _x(B, T, D)
    mask = np.arange(T)[None] < np.array([[T], [3]])
    out = to_numpy(block(x, mask=mask, training=False))
    expected = ref.encoder_block(block, x, mask)
    np.testing.assert_allclose(out[mask], expected[mask], atol=1e-5)
    # Padded positions: zeros where the block skips padding (TensorFlow), else computed like any other.
    np.testing.assert_allclose(out[~mask], 0.0 if block.packs_tokens else expected[~mask], atol=1e-5)


def test_skip_padding_defaults_on_only_where_the_backend_traces_data_dependent_shapes():
    block = TransformerEncoderBlock(D, 4, 32)
    assert block.packs_tokens == (keras.backend.backend() == "tensorflow")
    assert not TransformerEncoderBlock(D, 4, 32, skip_padding=False).packs_tokens
    if keras.backend.backend() != "tensorflow":
        with pytest.raises(ValueError, match="`skip_padding`=True needs data-dependent shapes"):
            TransformerEncoderBlock(D, 4, 32, skip_padding=True)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="token packing runs on TensorFlow only")
@pytest.mark.parametrize("lengths", [(T, 2, 4), (T, T, T)], ids=["padded", "pad-free"])
@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-ln", "post-ln"])
def test_skipping_padding_changes_no_real_output_and_no_gradient(norm_first, lengths):
    """Packed and padded blocks with the same weights: equal real outputs and equal gradients of a loss over
    the real positions, for every weight and for the inputs (padding never reaches a real token). A pad-free
    batch is packed too (every row kept)."""
    import tensorflow as tf

    blocks = [TransformerEncoderBlock(D, 4, 32, dropout=0.0, norm_first=norm_first, skip_padding=skip)
              for skip in (True, False)]
    x = tf.constant(_x(3, T, D))
    mask = np.arange(T)[None] < np.array(lengths)[:, None]
    blocks[0](x, mask=mask)
    blocks[1](x, mask=mask)
    blocks[1].set_weights(blocks[0].get_weights())
    probe = tf.constant(_x(3, T, D))

    def outputs_and_gradients(block):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = block(x, mask=mask, training=True)
            loss = tf.reduce_sum(tf.boolean_mask(out * probe, mask))
        return out, tape.gradient(loss, [x, *block.trainable_weights])

    # Eagerly and traced (zoo's training step is a tf.function: graph rewrites apply there only).
    for run in (outputs_and_gradients, tf.function(outputs_and_gradients)):
        (packed, packed_grads), (padded, padded_grads) = (run(block) for block in blocks)
        packed, padded = to_numpy(packed), to_numpy(padded)
        np.testing.assert_allclose(packed[mask], padded[mask], atol=1e-5)
        assert np.all(packed[~mask] == 0) and (mask.all() or np.abs(padded[~mask]).min() > 0)
        for weight, a, b in zip(["inputs", *(w.path for w in blocks[0].trainable_weights)], packed_grads,
                                padded_grads):
            np.testing.assert_allclose(to_numpy(a), to_numpy(b), atol=1e-4, err_msg=weight)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="token packing runs on TensorFlow only")
@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-ln", "post-ln"])
def test_a_traced_training_step_with_dropout_packs_padded_and_pad_free_batches(norm_first):
    """zoo's training step is a tf.function with dropout on: its gradients (graph-rewritten there only) come out
    finite and shaped like the weights for a padded batch and for a batch without padding."""
    import tensorflow as tf

    block = TransformerEncoderBlock(D, 4, 32, dropout=0.1, norm_first=norm_first)
    x = tf.constant(_x(3, T, D))

    @tf.function
    def step(mask):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.boolean_mask(block(x, mask=mask, training=True), mask))
        return tape.gradient(loss, block.trainable_weights)

    for lengths in ((T, 2, 4), (T, T, T)):
        mask = tf.constant(np.arange(T)[None] < np.array(lengths)[:, None])
        block(x, mask=mask)
        for weight, grad in zip(block.trainable_weights, step(mask)):
            assert tuple(grad.shape) == tuple(weight.shape) and np.all(np.isfinite(to_numpy(grad))), weight.path


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="token packing runs on TensorFlow only")
def test_a_block_given_packed_rows_returns_the_rows_of_its_padded_output_and_their_gradients():
    """``packed=True`` (how a Backbone runs its blocks): rows in, rows out, equal to the padded call's real
    positions, with equal gradients of a loss over them, inside a tf.function."""
    import tensorflow as tf

    from zoo.layers import PackTokens, UnpackTokens

    block = TransformerEncoderBlock(D, 4, 32, dropout=0.0, norm_first=False)
    x = tf.constant(_x(3, T, D))
    mask = tf.constant(np.arange(T)[None] < np.array([[T], [2], [4]]))
    probe = tf.constant(_x(3, T, D))

    @tf.function
    def run(packed):
        with tf.GradientTape() as tape:
            tape.watch(x)
            if packed:
                out = UnpackTokens()(block(PackTokens()(x, mask), mask=mask, packed=True, training=True), mask)
            else:
                out = block(x, mask=mask, training=True)
            loss = tf.reduce_sum(out * probe)
        return out, tape.gradient(loss, [x, *block.trainable_weights])

    (rows, rows_grads), (padded, padded_grads) = run(True), run(False)
    np.testing.assert_allclose(to_numpy(rows), to_numpy(padded), atol=1e-5)
    for a, b in zip(rows_grads, padded_grads):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), atol=1e-4)
    with pytest.raises(ValueError, match="`packed=True` needs the `mask`"):
        block(PackTokens()(x, mask), packed=True)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="token packing runs on TensorFlow only")
def test_skipping_padding_compiles_under_xla_and_in_bfloat16():
    import tensorflow as tf

    x = _x(B, T, D)
    mask = np.arange(T)[None] < np.array([[T], [3]])
    block = TransformerEncoderBlock(D, 4, 32, norm_first=False)
    eager = to_numpy(block(x, mask=mask))
    compiled = tf.function(lambda x, mask: block(x, mask=mask), jit_compile=True)
    np.testing.assert_allclose(to_numpy(compiled(x, mask)), eager, atol=1e-5)
    full = np.ones_like(mask)
    np.testing.assert_allclose(to_numpy(compiled(x, full)), to_numpy(block(x, mask=full)), atol=1e-5)
    mixed = TransformerEncoderBlock(D, 4, 32, norm_first=False, dtype="mixed_bfloat16")
    mixed(x, mask=mask)
    mixed.set_weights(block.get_weights())
    out = to_numpy(mixed(x, mask=mask))
    assert out.dtype == np.dtype("bfloat16") or str(out.dtype) == "bfloat16"
    np.testing.assert_allclose(out[mask].astype("float32"), eager[mask], atol=0.1)
    assert np.all(out[~mask].astype("float32") == 0)


def test_gelu_is_the_exact_erf_form_and_gelu_tanh_its_approximation():
    x = np.linspace(-4, 4, 801).astype("float32")[None, :, None]
    outputs = {}
    for name in ("gelu", "gelu_tanh"):
        ffn = FeedForward(d_model=1, ff_dim=1, activation=name)
        ffn.build((None, None, 1))
        ffn.set_weights([np.ones((1, 1)), np.zeros(1), np.ones((1, 1)), np.zeros(1)])
        outputs[name] = to_numpy(ffn(x))[0, :, 0]
        np.testing.assert_allclose(outputs[name], ref.ACTIVATIONS[name](x[0, :, 0].astype(np.float64)), atol=1e-6)
    # The forms differ by up to ~5e-4: a checkpoint trained with one is not served with the other.
    assert np.abs(outputs["gelu"] - outputs["gelu_tanh"]).max() > 1e-4


def test_exact_gelu_gradient_is_the_analytic_derivative():
    """zoo writes the exact GELU's gradient by hand: it must be Phi(x) + x phi(x), tails included."""
    import keras
    from scipy.stats import norm

    x = np.linspace(-8, 8, 1601)[None, :, None]
    ffn = FeedForward(d_model=1, ff_dim=1, activation="gelu")
    ffn.build((None, None, 1))
    ffn.set_weights([np.ones((1, 1)), np.zeros(1), np.ones((1, 1)), np.zeros(1)])
    variable = keras.Variable(x.astype("float32"))
    (grad,) = gradients(lambda: ffn.hidden(variable), [variable])  # of sum(gelu(x) ** 2)
    x64 = x.astype("float32").astype(np.float64)
    expected = 2 * ref.ACTIVATIONS["gelu"](x64) * (norm.cdf(x64) + x64 * norm.pdf(x64))
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)


def test_exact_gelu_under_bfloat16_is_the_float32_value_rounded_once():
    """Under ``mixed_bfloat16`` the exact GELU runs in float32: its output is the reference rounded to bfloat16."""
    import keras

    x = np.linspace(-4, 4, 801).astype("float32")[None, :, None]
    ffn = FeedForward(d_model=1, ff_dim=1, activation="gelu", dtype="mixed_bfloat16")
    ffn.build((None, None, 1))
    ffn.set_weights([np.ones((1, 1)), np.zeros(1), np.ones((1, 1)), np.zeros(1)])
    hidden = ffn.hidden(keras.ops.cast(x, "bfloat16"))
    assert keras.backend.standardize_dtype(hidden.dtype) == "bfloat16"
    inputs = to_numpy(keras.ops.cast(keras.ops.cast(x, "bfloat16"), "float32"))[0, :, 0].astype(np.float64)
    expected = ref.ACTIVATIONS["gelu"](inputs)
    got = to_numpy(keras.ops.cast(hidden, "float32"))[0, :, 0]
    # One rounding to bfloat16's 8 significant bits: at most 2**-8 relative (GELU computed in bfloat16 was
    # up to 4.6e-2 off in the negative tail, 4.6e-6 absolute). The float32 value before it is accurate to
    # float32's absolute epsilon, not relatively, far in the negative tail (Phi from 1 + erf): at x = -4,
    # 6e-7 on JAX (relative 4.5e-3), hence the absolute 1e-6.
    np.testing.assert_allclose(got, expected, rtol=2.0 ** -8, atol=1e-6)


def test_a_rotary_block_matches_numpy_with_rotated_queries_and_keys():
    block = TransformerEncoderBlock(D, 4, 32, norm_first=True, use_rotary=True)
    x = _x(B, T, D)
    mask = np.arange(T)[None] < np.array([[T], [4]])
    out = to_numpy(block(x, mask=mask, training=False))
    # The reference takes rotary positions from the block's argument, not from what its attention layer holds.
    attention = SimpleNamespace(**{name: getattr(block.attention, name) for name in (
        "num_heads", "head_dim", "qkv_dense", "output_dense")}, use_rotary=True, rotary_max_wavelength=10000)
    expected = ref.encoder_block(SimpleNamespace(
        attention=attention, **{name: getattr(block, name) for name in (
            "activation", "feedforward", "norm_first", "attention_norm", "feedforward_norm")}), x, mask)
    np.testing.assert_allclose(out[mask], expected[mask], atol=1e-5)


def test_an_explicit_attention_mask_limits_what_each_query_sees():
    block = TransformerEncoderBlock(D, 4, 32, activation="relu", norm_first=True)
    x = _x(B, T, D)
    allowed = RNG.random((B, T, T)) > 0.4
    allowed[:, :, 0] = True  # every query keeps a key
    out = to_numpy(block(x, attention_mask=allowed, training=False))
    ffn = block.feedforward
    h = x + ref.mha(block.attention, ref.layer_norm(x.astype(np.float64), block.attention_norm),
                    mask=allowed[:, None])[0]
    h = h + ref.dense(np.maximum(ref.dense(ref.layer_norm(h, block.feedforward_norm), ffn.hidden), 0), ffn.projection)
    np.testing.assert_allclose(out, h, atol=1e-5)


def test_padding_does_not_change_real_positions():
    block = TransformerEncoderBlock(D, 4, 32, dropout=0.3)
    x = _x(1, 4, D)
    padded = np.concatenate([x, _x(1, 3, D)], axis=1)
    short = to_numpy(block(x, mask=np.ones((1, 4), bool)))
    long = to_numpy(block(padded, mask=np.arange(7)[None] < 4))
    np.testing.assert_allclose(long[:, :4], short, atol=1e-5)


def test_dropout_active_only_in_training():
    block = TransformerEncoderBlock(D, 4, 32, dropout=0.5)
    x = _x(B, T, D)
    np.testing.assert_allclose(to_numpy(block(x, training=False)), to_numpy(block(x, training=False)))
    assert not np.allclose(to_numpy(block(x, training=True)), to_numpy(block(x, training=False)))


def test_mask_propagates_and_scores_are_returned():
    block = TransformerEncoderBlock(D, 4, 32)
    mask = np.arange(T)[None] < np.array([[T], [2]])
    np.testing.assert_array_equal(to_numpy(block.compute_mask(_x(B, T, D), mask)), mask)
    out, probs = block(_x(B, T, D), mask=mask, return_attention_scores=True)
    assert probs.shape == (B, 4, T, T)
    assert np.all(to_numpy(probs)[1, :, :, 2:] == 0)


def test_a_functional_model_returns_the_scores_an_eager_call_returns():
    # A symbolic call once gave one tensor (the output shape alone), so `out, probs = block(...)` failed.
    block = TransformerEncoderBlock(D, 4, 32)
    inputs, mask = keras.Input((None, D)), keras.Input((None,), dtype="bool")
    model = keras.Model([inputs, mask], block(inputs, mask=mask, return_attention_scores=True))
    x, real = _x(B, T, D), np.arange(T)[None] < np.array([[T], [2]])
    for got, expected in zip(model([x, real]), block(x, mask=real, return_attention_scores=True)):
        np.testing.assert_allclose(to_numpy(got), to_numpy(expected), atol=1e-6)


def test_layer_contract(tmp_path):
    run_layer_test(TransformerEncoderBlock, {"d_model": D, "num_heads": 4, "ff_dim": 32, "use_rotary": True},
                   [_x(B, T, D)], expected_shape=(B, T, D), tmp_path=tmp_path)
    run_layer_test(FeedForward, {"d_model": D, "ff_dim": 8, "activation": "swish"}, [_x(B, T, D)],
                   expected_shape=(B, T, D), tmp_path=tmp_path)


def test_wrong_input_width_is_a_clear_error():
    with pytest.raises(ValueError, match="d_model"):
        TransformerEncoderBlock(D, 4, 32)(_x(B, T, D + 1))


@pytest.mark.parametrize("kwargs, argument", [
    ({"d_model": 16, "num_heads": 3, "ff_dim": 8}, "num_heads"),
    ({"d_model": 16, "num_heads": 4, "ff_dim": 0}, "ff_dim"),
    ({"d_model": -16, "num_heads": 4, "ff_dim": 8}, "d_model"),
    ({"d_model": 16, "num_heads": 4, "ff_dim": 8, "dropout": 1.5}, "dropout"),
    ({"d_model": 16, "num_heads": 4, "ff_dim": 8, "attention_dropout": 1.0}, "attention_dropout"),
    # Rates its Dropout would round to 0 or 1: refused when constructed, naming the block's argument.
    ({"d_model": 16, "num_heads": 4, "ff_dim": 8, "dropout": 0.0001}, "`dropout`"),
    ({"d_model": 16, "num_heads": 4, "ff_dim": 8, "attention_dropout": 0.9999}, "`attention_dropout`"),
    ({"d_model": 16, "num_heads": 4, "ff_dim": 8, "activation": "tanhh"}, "activation"),
])
def test_bad_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        TransformerEncoderBlock(**kwargs)
