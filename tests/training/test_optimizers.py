"""Schedules against their formulas, optimizer choices, clipping against numpy."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.config import OptimizerConfig, ScheduleConfig
from zoo.training.optimizers import WarmupSchedule, build_optimizer, build_schedule, clip_gradients

STEPS = np.array([0, 4, 9, 10, 30, 55, 99, 150])


def _reference(name, step, peak=2e-3, warmup=10, total=100, final=0.1):
    s = step + 1.0
    if name == "transformer":
        return peak * min(s / warmup, np.sqrt(warmup / s))
    if s <= warmup:
        return peak * s / warmup
    if name == "constant":
        return peak
    progress = min((s - warmup) / (total - warmup), 1.0)
    decay = 1 - progress if name == "linear" else 0.5 * (1 + np.cos(np.pi * progress))
    return peak * (final + (1 - final) * decay)


@pytest.mark.parametrize("name", ["constant", "transformer", "linear", "cosine"])
def test_schedules_follow_their_formulas(name):
    schedule = WarmupSchedule(2e-3, name, warmup_steps=10, total_steps=100, final_fraction=0.1)
    got = [float(schedule(step)) for step in STEPS]
    np.testing.assert_allclose(got, [_reference(name, step) for step in STEPS], rtol=1e-5)
    clone = WarmupSchedule.from_config(schedule.get_config())
    assert float(clone(37)) == pytest.approx(float(schedule(37)))


def test_transformer_schedule_is_vaswani_rescaled_to_its_peak():
    d_model, warmup = 512, 4000
    schedule = WarmupSchedule(1.0, "transformer", warmup_steps=warmup)
    steps = np.array([1, 100, 3999, 4000, 20000])
    vaswani = d_model ** -0.5 * np.minimum(steps ** -0.5, steps * warmup ** -1.5)
    got = np.array([float(schedule(s - 1)) for s in steps])
    np.testing.assert_allclose(got / got.max(), vaswani / vaswani.max(), rtol=1e-5)


def test_warmup_fraction_counts_in_training_steps():
    schedule = build_schedule(OptimizerConfig(learning_rate=1.0), ScheduleConfig(name="linear", warmup_fraction=0.2),
                              total_steps=50)
    assert schedule.warmup_steps == 10
    assert float(schedule(4)) == pytest.approx(0.5)


@pytest.mark.parametrize("config, cls, attributes", [
    ({"name": "sgd", "momentum": 0.9, "nesterov": True}, keras.optimizers.SGD, {"momentum": 0.9, "nesterov": True}),
    ({"name": "adam", "beta_1": 0.8, "weight_decay": 0.0}, keras.optimizers.Adam, {"beta_1": 0.8}),
    ({"name": "adamw", "weight_decay": 0.05}, keras.optimizers.AdamW, {"weight_decay": 0.05}),
    ({"name": "rmsprop", "momentum": 0.5}, keras.optimizers.RMSprop, {"momentum": 0.5}),
])
def test_optimizer_choices(config, cls, attributes):
    optimizer = build_optimizer(OptimizerConfig(**config), 0.1)
    assert type(optimizer) is cls
    for key, value in attributes.items():
        assert getattr(optimizer, key) == pytest.approx(value)


def test_weight_decay_skips_excluded_variables():
    kernel = keras.Variable(np.ones((2, 2), np.float32))
    bias = keras.Variable(np.ones(2, np.float32))
    optimizer = build_optimizer(OptimizerConfig(name="sgd", weight_decay=0.5), 0.1, exclude_from_decay=[bias])
    optimizer.apply([tf.zeros((2, 2)), tf.zeros(2)], [kernel, bias])
    np.testing.assert_allclose(kernel.numpy(), np.full((2, 2), 1 - 0.1 * 0.5))
    np.testing.assert_allclose(bias.numpy(), np.ones(2))


def test_clip_by_global_norm_and_value_match_numpy():
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=5).astype(np.float32)]
    norm = np.sqrt(sum((g ** 2).sum() for g in grads))
    clipped = clip_gradients([tf.constant(g) for g in grads], clipnorm=0.5)
    for got, g in zip(clipped, grads):
        np.testing.assert_allclose(got, g * 0.5 / norm, rtol=1e-5)
    by_value = clip_gradients([tf.constant(g) for g in grads], clipvalue=0.3)
    for got, g in zip(by_value, grads):
        np.testing.assert_allclose(got, np.clip(g, -0.3, 0.3))


def test_sparse_gradients_are_clipped_as_their_dense_sum():
    # Rows 1 and 3 each appear twice, as an embedding lookup of repeated tokens produces.
    values = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [2.0, 2.0]], np.float32)
    sparse = tf.IndexedSlices(tf.constant(values), tf.constant([1, 3, 1, 3]), tf.constant([5, 2]))
    dense = tf.convert_to_tensor(sparse).numpy()
    for kwargs in ({"clipnorm": 1.0}, {"clipvalue": 2.0}):
        got = tf.convert_to_tensor(clip_gradients([sparse], **kwargs)[0]).numpy()
        want = clip_gradients([tf.constant(dense)], **kwargs)[0].numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_clipping_scaled_gradients_equals_clipping_true_ones():
    grads = [tf.constant([3.0, 4.0]), tf.constant([[12.0]])]
    scale = 1024.0
    plain = clip_gradients(grads, clipnorm=1.0, clipvalue=3.5)
    scaled = clip_gradients([g * scale for g in grads], clipnorm=1.0, clipvalue=3.5, scale=scale)
    for a, b in zip(plain, scaled):
        np.testing.assert_allclose(b.numpy() / scale, a.numpy(), rtol=1e-6)
