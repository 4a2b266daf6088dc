import numpy as np
import pytest

from tests import reference as ref
from tests.harness import run_layer_test, to_numpy
from zoo.layers import ClassificationHead

RNG = np.random.default_rng(4)
B, T, D = 3, 6, 8
MASK = np.arange(T)[None] < np.array([[T], [2], [4]])


def _x(*shape):
    return RNG.normal(size=shape).astype("float32")


def _pooled_reference(head, x, mask):
    x = x.astype(np.float64)
    if head.pooling == "cls":
        return x[:, 0]
    if head.pooling == "mean":
        return np.stack([x[i, mask[i]].mean(0) for i in range(len(x))])
    if head.pooling == "max":
        return np.stack([x[i, mask[i]].max(0) for i in range(len(x))])
    scores = ref.dense(x, head.attention_score)[..., 0]
    scores = np.where(mask, scores, -np.inf)
    return np.einsum("bt,btf->bf", ref.softmax(scores), x)


@pytest.mark.parametrize("pooling", ["cls", "mean", "max", "attention"])
def test_logits_match_numpy(pooling):
    head = ClassificationHead(4, pooling=pooling, hidden_dim=5)
    x = _x(B, T, D)
    out = to_numpy(head(x, mask=MASK))
    hidden = np.tanh(ref.dense(_pooled_reference(head, x, MASK), head.hidden))
    np.testing.assert_allclose(out, ref.dense(hidden, head.logits), atol=1e-5)


@pytest.mark.parametrize("pooling", ["cls", "mean", "max", "attention"])
def test_padded_positions_never_contribute(pooling):
    head = ClassificationHead(3, pooling=pooling)
    x = _x(B, T, D)
    noisy = x.copy()
    noisy[~MASK] = 1e3 * _x(int((~MASK).sum()), D)
    np.testing.assert_allclose(to_numpy(head(x, mask=MASK)), to_numpy(head(noisy, mask=MASK)), atol=1e-5)


def test_pooled_inputs_go_straight_to_the_logits():
    head = ClassificationHead(3, pooling="pooled", hidden_dim=5)
    pooled = _x(B, D)
    out = to_numpy(head(pooled))
    hidden = np.tanh(ref.dense(pooled.astype(np.float64), head.hidden))
    np.testing.assert_allclose(out, ref.dense(hidden, head.logits), atol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "max", "attention"])
def test_sequence_without_tokens_pools_to_zeros(pooling):
    head = ClassificationHead(2, pooling=pooling)
    x = 1e3 * _x(2, T, D)
    mask = np.array([[False] * T, [True] + [False] * (T - 1)])
    logits = to_numpy(head(x, mask=mask))
    pooled = to_numpy(head.pool(x, mask=mask))
    np.testing.assert_array_equal(pooled[0], np.zeros(D))
    np.testing.assert_allclose(pooled[1], x[1, 0], rtol=1e-6)  # one real token pools to itself
    np.testing.assert_allclose(logits[0], ref.dense(np.zeros(D), head.logits), atol=1e-6)


@pytest.mark.parametrize("mode, num_classes, units", [("multiclass", 5, 5), ("binary", 2, 1), ("binary", 1, 1),
                                                      ("multilabel", 4, 4)])
def test_modes_set_the_number_of_logits(mode, num_classes, units):
    out = ClassificationHead(num_classes, mode=mode)(_x(B, T, D))
    assert out.shape == (B, units)
    assert out.dtype == "float32"


def test_layer_contract(tmp_path):
    run_layer_test(ClassificationHead, {"num_classes": 3, "pooling": "attention", "hidden_dim": 4, "dropout": 0.1},
                   [_x(B, T, D)], expected_shape=(B, 3), tmp_path=tmp_path)


def test_mixed_precision_logits_stay_float32():
    import keras

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    out = ClassificationHead(3, pooling="max")(_x(B, T, D), mask=MASK)
    assert out.dtype == "float32"


@pytest.mark.parametrize("kwargs, argument", [
    ({"num_classes": 0}, "num_classes"),
    ({"num_classes": 3, "pooling": "sum"}, "pooling"),
    ({"num_classes": 3, "mode": "regression"}, "mode"),
    ({"num_classes": 3, "mode": "binary"}, "num_classes"),
    ({"num_classes": 1, "mode": "multiclass"}, "num_classes"),
    ({"num_classes": 3, "dropout": 2.0}, "dropout"),
    ({"num_classes": 3, "dropout": 0.9999}, "`dropout`"),  # its Dropout would round it to 1
    ({"num_classes": 3, "hidden_dim": 0}, "hidden_dim"),
])
def test_bad_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        ClassificationHead(**kwargs)


@pytest.mark.parametrize("pooling, shape, layout", [("pooled", (B, T, D), r"\[batch, features\]"),
                                                    ("mean", (B, D), r"\[batch, T, features\]")])
def test_inputs_of_the_wrong_rank_for_the_pooling_are_an_error(pooling, shape, layout):
    # "pooled" on a sequence gave per-token logits [B, T, classes], where its output shape says [B, classes].
    with pytest.raises(ValueError, match=f"`pooling`='{pooling}' takes inputs {layout}, got shape"):
        ClassificationHead(3, pooling=pooling)(_x(*shape))
