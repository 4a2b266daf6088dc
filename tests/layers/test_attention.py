import keras
import numpy as np
import pytest
from keras import ops

from tests import reference as ref
from tests.harness import run_layer_test, to_numpy
from zoo import hardware
from zoo.layers import MultiHeadAttention, combine_masks

RNG = np.random.default_rng(0)
B, T, S, D, H = 2, 7, 5, 16, 4


def _x(*shape):
    return RNG.normal(size=shape).astype("float32")


def _padding(lengths, total):
    return np.arange(total)[None, :] < np.asarray(lengths)[:, None]


@pytest.mark.parametrize("fast", [True, False], ids=["output-only", "with-scores"])
@pytest.mark.parametrize("masking", ["none", "padding", "explicit", "causal", "all"])
def test_self_attention_matches_numpy(fast, masking):
    layer = MultiHeadAttention(d_model=D, num_heads=H)
    x = _x(B, T, D)
    padding = _padding([T, 4], T) if masking in ("padding", "all") else None
    explicit = RNG.random((B, T, T)) > 0.3 if masking in ("explicit", "all") else None
    if explicit is not None:
        explicit[:, :, 0] = True  # every query keeps at least one key
    causal = masking in ("causal", "all")
    out = layer(x, padding_mask=padding, attention_mask=explicit, use_causal_mask=causal,
                return_attention_scores=not fast)
    out = out if fast else out[0]

    mask = np.ones((B, 1, T, T), bool)
    if padding is not None:
        mask &= padding[:, None, None, :]
    if explicit is not None:
        mask &= explicit[:, None]
    if causal:
        mask &= np.tril(np.ones((T, T), bool))[None, None]
    expected, _ = ref.mha(layer, x, mask=mask)
    np.testing.assert_allclose(to_numpy(out), expected, atol=1e-5)


def test_masked_keys_get_exactly_zero_probability():
    layer = MultiHeadAttention(d_model=D, num_heads=H)
    padding = _padding([3, T], T)
    _, probs = layer(_x(B, T, D), padding_mask=padding, use_causal_mask=True, return_attention_scores=True)
    probs = to_numpy(probs)
    assert probs.shape == (B, H, T, T)
    assert np.all(probs[0, :, :, 3:] == 0.0)
    assert np.all(np.triu(probs[1], k=1) == 0.0)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-6)


def test_masked_key_values_do_not_change_the_output():
    layer = MultiHeadAttention(d_model=D, num_heads=H)
    x = _x(B, T, D)
    padding = _padding([4, 4], T)
    changed = x.copy()
    changed[:, 4:] = _x(B, T - 4, D)
    a = to_numpy(layer(x, padding_mask=padding))[:, :4]
    b = to_numpy(layer(changed, padding_mask=padding))[:, :4]
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_cross_attention_matches_numpy_with_key_padding():
    layer = MultiHeadAttention(d_model=D, num_heads=H)
    q, kv = _x(B, T, D), _x(B, S, 12)
    padding = _padding([S, 2], S)
    out = layer(q, kv, padding_mask=padding)
    expected, _ = ref.mha(layer, q, kv, mask=padding[:, None, None, :])
    np.testing.assert_allclose(to_numpy(out), expected, atol=1e-5)
    assert layer.is_cross_attention


def test_rotary_attention_matches_numpy():
    layer = MultiHeadAttention(d_model=D, num_heads=2, use_rotary=True)
    x = _x(B, T, D)
    out = to_numpy(layer(x))
    np.testing.assert_allclose(out, ref.mha(layer, x)[0], atol=1e-5)


def test_cached_incremental_attention_equals_full_causal_attention():
    layer = MultiHeadAttention(d_model=D, num_heads=H, use_rotary=True)
    x = _x(B, T, D)
    full = to_numpy(layer(x, use_causal_mask=True))
    cache = ops.zeros((B, 2, T, H, D // H))
    steps = []
    for i in range(T):
        out, cache = layer(x[:, i:i + 1], use_causal_mask=True, cache=cache, cache_update_index=i)
        steps.append(to_numpy(out))
    np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-5)


def test_a_partly_filled_cache_hides_its_empty_positions_without_a_causal_mask():
    """Chunks written into a longer cache, attended bidirectionally: each chunk sees exactly the keys written so
    far (its own included), never the cache's empty (zero) positions after them."""
    layer = MultiHeadAttention(d_model=D, num_heads=H, use_rotary=True)
    x = _x(B, 5, D)
    cache = ops.zeros((B, 2, T, H, D // H))
    first, cache = layer(x[:, :3], cache=cache, cache_update_index=0)
    second, cache = layer(x[:, 3:], cache=cache, cache_update_index=3)
    seen = np.ones((B, 1, 5, 5), bool)
    seen[:, :, :3, 3:] = False  # the first chunk ran before keys 3 and 4 were written
    expected, _ = ref.mha(layer, x, mask=seen)
    np.testing.assert_allclose(np.concatenate([to_numpy(first), to_numpy(second)], 1), expected, atol=1e-5)


def test_a_cache_update_index_without_a_cache_is_an_error():
    # It offset the queries' causal positions but not the keys', so query 0 at index 2 attended keys 1 and 2.
    layer = MultiHeadAttention(d_model=D, num_heads=H)
    with pytest.raises(ValueError, match="`cache_update_index` is the position of the queries in a `cache`"):
        layer(_x(1, 4, D), use_causal_mask=True, cache_update_index=2)


def test_attention_dropout_only_in_training():
    layer = MultiHeadAttention(d_model=D, num_heads=H, dropout=0.5)
    x = _x(B, T, D)
    inference = [to_numpy(layer(x, training=False)) for _ in range(2)]
    np.testing.assert_allclose(inference[0], inference[1])
    trained = to_numpy(layer(x, training=True))
    assert not np.allclose(trained, inference[0])


def test_key_dim_defaults_and_explicit_key_dim():
    assert MultiHeadAttention(d_model=64, num_heads=8).head_dim == 8
    layer = MultiHeadAttention(d_model=10, num_heads=3, key_dim=4)
    x = _x(B, T, 10)
    out = to_numpy(layer(x))
    assert out.shape == (B, T, 10)
    np.testing.assert_allclose(out, ref.mha(layer, x)[0], atol=1e-5)


def test_wrong_call_for_built_kind_is_a_clear_error():
    layer = MultiHeadAttention(d_model=D, num_heads=H)
    layer(_x(B, T, D))
    with pytest.raises(ValueError, match="self-attention"):
        layer(_x(B, T, D), _x(B, S, D))


@pytest.mark.parametrize("kwargs, argument", [
    ({"d_model": 10, "num_heads": 3}, "num_heads"),
    ({"d_model": 0, "num_heads": 2}, "d_model"),
    ({"d_model": 8, "num_heads": -1}, "num_heads"),
    ({"d_model": 8, "num_heads": 2, "dropout": 1.0}, "dropout"),
    ({"d_model": 8, "num_heads": 2, "dropout": -0.1}, "dropout"),
    ({"d_model": 8, "num_heads": 2, "dropout": 0.0001}, "`dropout`"),  # its Dropout would round it to 0
    ({"d_model": 8, "num_heads": 2, "key_dim": 0}, "key_dim"),
    ({"d_model": 12, "num_heads": 4, "use_rotary": True}, "use_rotary"),
])
def test_bad_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        MultiHeadAttention(**kwargs)


def test_layer_contract_self_attention(tmp_path):
    run_layer_test(
        MultiHeadAttention, {"d_model": D, "num_heads": H, "use_rotary": True}, [_x(B, T, D)],
        tensor_kwargs={"padding_mask": _padding([T, 3], T)}, expected_shape=(B, T, D), tmp_path=tmp_path,
    )


def test_layer_contract_cross_attention(tmp_path):
    run_layer_test(
        MultiHeadAttention, {"d_model": D, "num_heads": H}, [_x(B, T, D), _x(B, S, 8)],
        expected_shape=(B, T, D), tmp_path=tmp_path,
    )


@pytest.mark.parametrize("core", ["float32", "compute"])
def test_mixed_bfloat16_attention_core_in_the_chosen_dtype(core, monkeypatch):
    monkeypatch.setenv(hardware.ATTENTION_CORE_ENV, core)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    layer = MultiHeadAttention(d_model=D, num_heads=H)
    x = _x(B, T, D)
    padding = _padding([T, 4], T)
    out, probs = layer(x, padding_mask=padding, return_attention_scores=True)
    assert layer.core_dtype == ("float32" if core == "float32" else "bfloat16")
    assert out.dtype == "bfloat16"
    assert probs.dtype == "float32"
    probs = to_numpy(probs)
    assert np.all(probs[1, :, :, 4:] == 0.0)
    # A float32 softmax sums to 1 up to float32 rounding. In bfloat16 each probability carries the roundings of
    # its exp, of the bfloat16 sum of T terms and of the division, each up to 2^-8 relative, so the row sums to
    # 1 within (T + 2) * 2^-8 (0.012 seen on an AVX2-only CPU, which emulates bfloat16; 1e-2 was flaky there).
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5 if core == "float32" else (T + 2) * 2.0**-8)
    expected, _ = ref.mha(layer, x, mask=padding[:, None, None, :])
    np.testing.assert_allclose(to_numpy(out).astype("float32"), expected, atol=0.05, rtol=0.05)


def test_attention_core_follows_the_hardware_without_override(monkeypatch):
    monkeypatch.delenv(hardware.ATTENTION_CORE_ENV, raising=False)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    layer = MultiHeadAttention(d_model=D, num_heads=H)
    layer(_x(B, T, D))
    assert layer.core_dtype == hardware.attention_core_dtype("bfloat16")
    keras.mixed_precision.set_global_policy("float32")
    layer = MultiHeadAttention(d_model=D, num_heads=H)
    layer(_x(B, T, D))
    assert layer.core_dtype == "float32"


def test_packing_is_refused_for_cross_attention():
    # The cross-attention contract's sizes: under JAX its ops are compiled already.
    cross = MultiHeadAttention(d_model=D, num_heads=H)
    q, kv = _x(B, T, D), _x(B, S, 8)
    cross(q, key_value=kv)
    with pytest.raises(ValueError, match="`packing` is only supported for self-attention"):
        cross(q, key_value=kv, packing=object())


def test_a_causal_mask_without_its_lengths_names_them():
    # It failed as "Invalid dtype: NoneType" from inside keras.ops.arange.
    with pytest.raises(ValueError, match="need `query_length` and `key_length`, got query_length=None, key_length=4"):
        combine_masks(causal=True, key_length=4)
