import keras
import numpy as np
import pytest

from tests import reference as ref
from tests.harness import run_layer_test, to_numpy
from zoo.layers import TransformerDecoderBlock

RNG = np.random.default_rng(3)
B, T, S, D = 2, 6, 5, 16


def _x(*shape):
    return RNG.normal(size=shape).astype("float32")


@pytest.mark.parametrize("cross", [False, True], ids=["decoder-only", "with-cross-attention"])
def test_future_tokens_do_not_change_earlier_outputs(cross):
    block = TransformerDecoderBlock(D, 4, 32)
    memory = _x(B, S, D) if cross else None
    x = _x(B, T, D)
    changed = x.copy()
    changed[:, 3:] = _x(B, T - 3, D)
    a = to_numpy(block(x, encoder_outputs=memory))
    b = to_numpy(block(changed, encoder_outputs=memory))
    np.testing.assert_allclose(a[:, :3], b[:, :3], atol=1e-6)
    assert not np.allclose(a[:, 3:], b[:, 3:])


@pytest.mark.parametrize("cross", [False, True], ids=["decoder-only", "with-cross-attention"])
@pytest.mark.parametrize("rotary", [False, True], ids=["no-rope", "rope"])
def test_cached_step_by_step_decoding_equals_full_sequence(cross, rotary):
    block = TransformerDecoderBlock(D, 4, 32, use_rotary=rotary)
    memory = _x(B, S, D) if cross else None
    x = _x(B, T, D)
    full = to_numpy(block(x, encoder_outputs=memory))
    cache = block.init_cache(B, T)
    outs = []
    for i in range(T):
        out, cache = block(x[:, i:i + 1], encoder_outputs=memory, self_attention_cache=cache, cache_update_index=i)
        outs.append(to_numpy(out))
    np.testing.assert_allclose(np.concatenate(outs, 1), full, atol=1e-5)
    # Prefill several tokens at once, then continue one at a time.
    cache = block.init_cache(B, T)
    head, cache = block(x[:, :4], encoder_outputs=memory, self_attention_cache=cache, cache_update_index=0)
    tail, _ = block(x[:, 4:5], encoder_outputs=memory, self_attention_cache=cache, cache_update_index=4)
    np.testing.assert_allclose(to_numpy(head), full[:, :4], atol=1e-5)
    np.testing.assert_allclose(to_numpy(tail), full[:, 4:5], atol=1e-5)


def test_a_cache_update_index_without_a_cache_is_an_error():
    # It shifted the causal mask of the queries alone: position 0 saw the next two tokens.
    with pytest.raises(ValueError, match="`cache_update_index` is the position of `inputs` in a `self_attention_cache`"):
        TransformerDecoderBlock(D, 4, 32)(_x(1, 4, D), cache_update_index=2)


def test_encoder_padding_is_masked_in_cross_attention():
    block = TransformerDecoderBlock(D, 4, 32)
    memory = _x(B, S, D)
    encoder_mask = np.arange(S)[None] < 3
    encoder_mask = np.repeat(encoder_mask, B, 0)
    changed = memory.copy()
    changed[:, 3:] = _x(B, S - 3, D)
    x = _x(B, T, D)
    a = to_numpy(block(x, encoder_outputs=memory, encoder_mask=encoder_mask))
    b = to_numpy(block(x, encoder_outputs=changed, encoder_mask=encoder_mask))
    np.testing.assert_allclose(a, b, atol=1e-6)
    _, (self_probs, cross_probs) = block(x, encoder_outputs=memory, encoder_mask=encoder_mask,
                                         return_attention_scores=True)
    assert np.all(to_numpy(cross_probs)[:, :, :, 3:] == 0)
    assert np.all(np.triu(to_numpy(self_probs)[0, 0], 1) == 0)


def test_decoder_without_cross_attention_matches_causal_reference():
    block = TransformerDecoderBlock(D, 4, 32, activation="relu", norm_first=True)
    x = _x(B, T, D)
    out = to_numpy(block(x))
    causal = np.tril(np.ones((T, T), bool))[None, None]
    xd = x.astype(np.float64)
    h = xd + ref.mha(block.self_attention, ref.layer_norm(xd, block.self_attention_norm), mask=causal)[0]
    ffn = block.feedforward
    h = h + ref.dense(np.maximum(ref.dense(ref.layer_norm(h, block.feedforward_norm), ffn.hidden), 0), ffn.projection)
    np.testing.assert_allclose(out, h, atol=1e-5)


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-ln", "post-ln"])
def test_decoder_with_cross_attention_matches_numpy(norm_first):
    """Self-attention (causal, over the decoder's padding), cross-attention (over the encoder's padding), then
    the feed-forward network, each in its residual and its own norm, against a float64 reference."""
    block = TransformerDecoderBlock(D, 4, 32, dropout=0.1, norm_first=norm_first)
    x, memory = _x(B, T, D), _x(B, S, D)
    mask = np.arange(T)[None] < np.array([[T], [4]])
    encoder_mask = np.arange(S)[None] < np.array([[S], [3]])
    block(x, encoder_outputs=memory)
    # At their initial weights (gamma 1, beta 0) the three norms are interchangeable; distinct ones are not.
    for norm in (block.self_attention_norm, block.cross_attention_norm, block.feedforward_norm):
        norm.gamma.assign(RNG.uniform(0.5, 1.5, D).astype("float32"))
        norm.beta.assign(RNG.normal(scale=0.2, size=D).astype("float32"))
    out = to_numpy(block(x, encoder_outputs=memory, mask=mask, encoder_mask=encoder_mask, training=False))

    def sublayer(h, norm, fn):
        return h + fn(ref.layer_norm(h, norm)) if norm_first else ref.layer_norm(h + fn(h), norm)

    self_mask = np.tril(np.ones((T, T), bool))[None, None] & mask[:, None, None, :]
    ffn = block.feedforward
    h = sublayer(x.astype(np.float64), block.self_attention_norm,
                 lambda y: ref.mha(block.self_attention, y, mask=self_mask)[0])
    h = sublayer(h, block.cross_attention_norm,
                 lambda y: ref.mha(block.cross_attention, y, memory, mask=encoder_mask[:, None, None, :])[0])
    h = sublayer(h, block.feedforward_norm,
                 lambda y: ref.dense(ref.ACTIVATIONS["gelu"](ref.dense(y, ffn.hidden)), ffn.projection))
    np.testing.assert_allclose(out, h, atol=1e-5)


def test_cross_attention_use_must_match_build():
    block = TransformerDecoderBlock(D, 4, 32)
    block(_x(B, T, D))
    with pytest.raises(ValueError, match="without cross-attention"):
        block(_x(B, T, D), encoder_outputs=_x(B, S, D))


def test_a_functional_model_returns_the_cache_and_scores_an_eager_call_returns():
    # A symbolic call once gave one tensor (the output shape alone) where `call` returns a tuple.
    block = TransformerDecoderBlock(D, 4, 32)
    inputs, memory = keras.Input((None, D)), keras.Input((S, D))
    cache = keras.Input((2, T, 4, D // 4))
    outputs = block(inputs, encoder_outputs=memory, self_attention_cache=cache, cache_update_index=0,
                    return_attention_scores=True)
    model = keras.Model([inputs, memory, cache], keras.tree.flatten(outputs))
    x, m, c = _x(B, 3, D), _x(B, S, D), to_numpy(block.init_cache(B, T))
    expected = block(x, encoder_outputs=m, self_attention_cache=c, cache_update_index=0, return_attention_scores=True)
    got = model([x, m, c])
    assert [tuple(t.shape) for t in got] == [(B, 3, D), (B, 2, T, 4, D // 4), (B, 4, 3, T), (B, 4, 3, S)]
    for got_tensor, expected_tensor in zip(got, keras.tree.flatten(expected)):
        np.testing.assert_allclose(to_numpy(got_tensor), to_numpy(expected_tensor), atol=1e-6)


def test_a_functional_model_cannot_return_the_missing_cross_attention_scores():
    with pytest.raises(ValueError, match="without cross-attention, whose cross_probs are None"):
        TransformerDecoderBlock(D, 4, 32)(keras.Input((None, D)), return_attention_scores=True)


def test_layer_contract(tmp_path):
    run_layer_test(TransformerDecoderBlock, {"d_model": D, "num_heads": 4, "ff_dim": 32}, [_x(B, T, D)],
                   tensor_kwargs={"encoder_outputs": _x(B, S, D)}, expected_shape=(B, T, D), tmp_path=tmp_path)
    run_layer_test(TransformerDecoderBlock, {"d_model": D, "num_heads": 4, "ff_dim": 32, "norm_first": False},
                   [_x(B, T, D)], expected_shape=(B, T, D), tmp_path=tmp_path)


@pytest.mark.parametrize("kwargs, argument", [
    ({"d_model": 16, "num_heads": 5, "ff_dim": 8}, "num_heads"),
    ({"d_model": 16, "num_heads": 4, "ff_dim": -8}, "ff_dim"),
    ({"d_model": 16, "num_heads": 4, "ff_dim": 8, "dropout": 1.0}, "dropout"),
    # Rates its Dropout would round to 0 or 1: refused when constructed, naming the block's argument.
    ({"d_model": 16, "num_heads": 4, "ff_dim": 8, "dropout": 0.9999}, "`dropout`"),
    ({"d_model": 16, "num_heads": 4, "ff_dim": 8, "attention_dropout": 0.0001}, "`attention_dropout`"),
    ({"d_model": 16, "num_heads": 4, "ff_dim": 8, "activation": "sigmoid"}, "activation"),
])
def test_bad_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        TransformerDecoderBlock(**kwargs)
