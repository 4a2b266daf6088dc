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
    progress = min((s - warmup) / (total + 1 - warmup), 1.0)
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


@pytest.mark.parametrize("name", ["transformer", "linear"])
def test_a_warmup_fraction_too_small_to_round_to_a_step_warms_up_for_one(name):
    # 0.003 of 100 steps rounds to 0; transformer needs a warm-up step and must not blame warmup_steps.
    schedule = build_schedule(OptimizerConfig(learning_rate=1.0), ScheduleConfig(name=name, warmup_fraction=0.003),
                              total_steps=100)
    assert schedule.warmup_steps == 1
    assert float(schedule(0)) == pytest.approx(1.0)  # the peak at the first step, as without a warm-up
    assert build_schedule(OptimizerConfig(), ScheduleConfig(name="linear", warmup_fraction=0.0), 100).warmup_steps == 0


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


# The fine-tuning recipe: weight-decay groups, its schedule, layer-wise learning-rate decay.

def _tiny_classifier():
    import zoo

    return zoo.build("transformer-tiny", vocab_size=30, sequence_length=8, num_classes=3, num_layers=2, d_model=8,
                     num_heads=2, ff_dim=16)


def _fine_tune_config(**optimizer):
    from zoo.config import Config

    return Config.from_dict({"training": {"recipe": "fine_tune"},
                             "optimizer": {"learning_rate": 0.1, **optimizer}, "schedule": {"name": "constant"}})


def _zero_step(optimizer, model):
    """One update with zero gradients: AdamW then moves a variable only by its weight decay."""
    before = [v.numpy() for v in model.trainable_variables]
    optimizer.apply([tf.zeros_like(v) for v in model.trainable_variables], model.trainable_variables)
    return before


@pytest.mark.parametrize("decay_embeddings", [False, True])
def test_weight_decay_reaches_only_weight_matrices_and_embeddings_when_asked(decay_embeddings):
    from zoo.training.optimizers import optimizer_for

    model = _tiny_classifier()
    config = _fine_tune_config(weight_decay=0.5, weight_decay_embeddings=decay_embeddings)
    optimizer = optimizer_for(config, model, "float32", total_steps=10)
    before = _zero_step(optimizer, model)
    backbone = model.backbone
    tables = {id(v) for part in (backbone.token_embedding, backbone.position_embedding)
              for v in part.trainable_variables}
    assert len(tables) == 2
    decayed = 0
    for variable, old in zip(model.trainable_variables, before):
        expect_decay = len(old.shape) == 2 and (decay_embeddings or id(variable) not in tables)
        want = old * (1 - 0.1 * 0.5) if expect_decay else old
        np.testing.assert_allclose(variable.numpy(), want, rtol=1e-6, err_msg=variable.path)
        decayed += expect_decay
    # q/k/v, output and two feed-forward kernels per block, and the head's kernel.
    assert decayed == 2 * 4 + 1 + (2 if decay_embeddings else 0)



@pytest.mark.parametrize("name", ["lstm", "cnn"])
@pytest.mark.parametrize("decay_embeddings", [False, True])
def test_a_baselines_embedding_table_decays_only_when_asked(name, decay_embeddings):
    """The baselines have no Backbone, and weight_decay_embeddings: false used to leave their table decaying."""
    import zoo
    from zoo.training.optimizers import optimizer_for

    model = zoo.build(name, vocab_size=30, sequence_length=8, num_classes=2, embedding_dim=4)
    config = _fine_tune_config(weight_decay=0.5, weight_decay_embeddings=decay_embeddings)
    optimizer = optimizer_for(config, model, "float32", total_steps=10)
    before = _zero_step(optimizer, model)
    table = model.get_layer("embedding").embeddings
    old = before[[id(v) for v in model.trainable_variables].index(id(table))]
    np.testing.assert_allclose(table.numpy(), old * (1 - 0.1 * 0.5) if decay_embeddings else old, rtol=1e-6)

def test_fine_tuning_schedule_warms_up_a_tenth_then_decays_linearly_towards_zero():
    config = _fine_tune_config()
    config = config.update({"optimizer.learning_rate": 5e-5, "schedule.name": "linear"})
    assert (config.schedule.warmup_fraction, config.schedule.final_fraction) == (0.1, 0.0)
    schedule = build_schedule(config.optimizer, config.schedule, total_steps=200)
    assert schedule.warmup_steps == 20
    steps = [0, 9, 19, 20, 109, 199, 250]
    # Update n (1-based) has rate peak * n / 20 during warm-up, then peak * (201 - n) / 181: a line from the
    # peak at update 20 to 0 at update 201, so the last update (200) still moves the weights (it made none).
    want = [5e-5 * 1 / 20, 5e-5 * 10 / 20, 5e-5, 5e-5 * 180 / 181, 5e-5 * 91 / 181, 5e-5 / 181, 0.0]
    np.testing.assert_allclose([float(schedule(s)) for s in steps], want, rtol=1e-5, atol=1e-12)


def test_layer_decay_multipliers_follow_depth():
    from zoo.training.optimizers import group_by_multiplier, layer_decay_multipliers

    embedding, first, second, head = (keras.Variable(np.ones((2, 2), np.float32)) for _ in range(4))
    multipliers = layer_decay_multipliers([[embedding], [first], [second]], 0.8)
    assert multipliers == pytest.approx({id(embedding): 0.8 ** 3, id(first): 0.8 ** 2, id(second): 0.8})
    groups = group_by_multiplier([embedding, first, second, head], multipliers)
    assert [m for m, _ in groups] == pytest.approx([1.0, 0.8, 0.64, 0.512])
    assert [g for _, g in groups] == [[head], [second], [first], [embedding]]


def test_layer_decay_and_encoder_scale_set_each_layers_step():
    from zoo.training.optimizers import GroupedOptimizer, optimizer_for

    model = _tiny_classifier()
    config = _fine_tune_config(name="sgd", weight_decay=0.0, layer_decay=0.5, encoder_learning_rate_scale=0.1)
    optimizer = optimizer_for(config, model, "float32", total_steps=10)
    assert isinstance(optimizer, GroupedOptimizer)
    before = [v.numpy() for v in model.trainable_variables]
    optimizer.apply([tf.ones_like(v) for v in model.trainable_variables], model.trainable_variables)
    moved = {id(v): old - v.numpy() for v, old in zip(model.trainable_variables, before)}

    def step(layer):
        values = np.concatenate([moved[id(v)].ravel() for v in layer.trainable_variables])
        np.testing.assert_allclose(values, values[0], atol=1e-7)
        return round(float(values[0]), 6)

    backbone = model.backbone
    # SGD moves a variable by its rate: 0.1 at the head; the backbone's 0.1 * 0.1 (encoder scale) * 0.5 ** depth.
    assert step(model.head) == 0.1 and step(backbone.final_norm) == 0.01
    assert [step(block) for block in backbone.blocks] == [0.0025, 0.005]
    assert step(backbone.token_embedding) == step(backbone.position_embedding) == 0.00125



def test_the_reported_learning_rate_is_the_configured_one_under_an_encoder_scale_above_1():
    """history.json's learning_rate used to be the first group's: with the encoder scaled by 2, the encoder's."""
    from zoo.training.fit import last_update_learning_rate
    from zoo.training.optimizers import optimizer_for

    config = _fine_tune_config(encoder_learning_rate_scale=2.0, layer_decay=0.5)
    optimizer = optimizer_for(config, _tiny_classifier(), "float32", total_steps=10)
    # The head and the top block (2 x 0.5) unscaled, the final norm 2x, the lower block and the embeddings below.
    assert [inner.learning_rate.numpy() for inner in optimizer.optimizers] == pytest.approx([0.1, 0.2, 0.05, 0.025])
    optimizer.iterations.assign(1)
    assert last_update_learning_rate(optimizer) == pytest.approx(0.1)

def test_layer_decay_needs_encoder_blocks_and_float16_needs_one_rate():
    import zoo
    from zoo.config import ConfigError
    from zoo.training.optimizers import optimizer_for

    lstm = zoo.build("lstm", vocab_size=30, sequence_length=8, num_classes=2)
    with pytest.raises(ConfigError, match="optimizer.layer_decay: model .* has no encoder blocks"):
        optimizer_for(_fine_tune_config(layer_decay=0.9), lstm, "float32", total_steps=10)
    with pytest.raises(ConfigError, match="do not support training.precision: mixed_float16"):
        optimizer_for(_fine_tune_config(layer_decay=0.9), _tiny_classifier(), "mixed_float16", total_steps=10)


@pytest.mark.parametrize("scale, freeze, frozen", [
    ("layer_decay", {"freeze": "encoder"}, "model.freeze: encoder"),
    ("encoder_learning_rate_scale", {"freeze": "encoder"}, "model.freeze: encoder"),
    ("layer_decay", {"freeze": "embedding", "freeze_blocks": 2}, "model.freeze: embedding and model.freeze_blocks: 2"),
])
def test_a_scale_of_a_frozen_encoder_is_an_error_saying_it_would_change_nothing(scale, freeze, frozen):
    """Layer decay over a frozen encoder used to be taken silently, and the encoder scale's error said the
    Transformer had no encoder layers."""
    from zoo.config import Config, ConfigError
    from zoo.training.optimizers import optimizer_for
    from zoo.training.transfer import _freeze

    config = Config.from_dict({"model": {"init_from": "runs/pretrained", **freeze}, "optimizer": {scale: 0.5}})
    model = _tiny_classifier()
    _freeze(model, config.model.freeze, config.model.freeze_blocks)
    with pytest.raises(ConfigError) as error:
        optimizer_for(config, model, "float32", total_steps=10)
    assert str(error.value) == (f"optimizer.{scale}: 0.5 scales the learning rate of encoder layers that {frozen} "
                                f"keeps fixed, so it would change nothing; set optimizer.{scale}: 1, or freeze less")
