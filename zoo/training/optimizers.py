"""Optimizers, learning-rate schedules and gradient clipping from the ``optimizer``/``schedule`` config sections."""
import dataclasses
import math

import keras
import tensorflow as tf
from keras import ops

from zoo.config import OPTIMIZERS, SCHEDULES, ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak``, then ``constant``, ``transformer`` (inverse square root), ``linear`` or ``cosine``.

    ``transformer`` is the schedule of "Attention Is All You Need",
    ``d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)``, rescaled so that its maximum (at the end of the
    warm-up) is ``peak``: ``peak * min(step / warmup, sqrt(warmup / step))``. ``linear`` and ``cosine`` decay
    from ``peak`` at the end of the warm-up towards ``peak * final_fraction``, reached one step after the last
    (``total_steps + 1``). The step is 1-based (the first update uses step 1): neither the first update nor the
    last is made at a zero learning rate, as they would be were the decay to end on the last step.

    Args:
        peak: Largest learning rate.
        name: ``constant``, ``transformer``, ``linear`` or ``cosine``.
        warmup_steps: Steps of linear warm-up.
        total_steps: All training steps (``linear``/``cosine`` reach ``final_fraction`` one step later).
        final_fraction: Final learning rate as a fraction of ``peak`` (``linear``/``cosine``).

    Example:
        >>> schedule = WarmupSchedule(1e-3, "cosine", warmup_steps=10, total_steps=100)
        >>> round(float(schedule(9)), 6)  # the 10th step ends the warm-up
        0.001
    """

    def __init__(self, peak, name="constant", warmup_steps=0, total_steps=1, final_fraction=0.0):
        if name not in SCHEDULES:
            raise ValueError(f"schedule.name must be one of {', '.join(SCHEDULES)}, got {name!r}")
        if name == "transformer" and warmup_steps < 1:
            raise ValueError("schedule.name: transformer needs warmup_steps >= 1")
        self.peak = float(peak)
        self.name = name
        self.warmup_steps = int(warmup_steps)
        self.total_steps = max(int(total_steps), 1)
        self.final_fraction = float(final_fraction)

    def __call__(self, step):
        step = ops.cast(step, "float32") + 1.0
        warmup = float(max(self.warmup_steps, 1))
        ramp = ops.minimum(step / warmup, 1.0) if self.warmup_steps else ops.ones_like(step)
        if self.name == "constant":
            return self.peak * ramp
        if self.name == "transformer":
            return self.peak * ops.minimum(step / warmup, ops.sqrt(warmup / step))
        span = float(max(self.total_steps - self.warmup_steps, 0) + 1)
        progress = ops.clip((step - float(self.warmup_steps)) / span, 0.0, 1.0)
        if self.name == "linear":
            decay = 1.0 - progress
        else:
            decay = 0.5 * (1.0 + ops.cos(math.pi * progress))
        scale = self.final_fraction + (1.0 - self.final_fraction) * decay
        return self.peak * ops.where(step <= float(self.warmup_steps), ramp, scale)

    def get_config(self):
        return {"peak": self.peak, "name": self.name, "warmup_steps": self.warmup_steps,
                "total_steps": self.total_steps, "final_fraction": self.final_fraction}


def build_schedule(optimizer_config, schedule_config, total_steps):
    """Return the learning-rate schedule for a run of ``total_steps`` optimizer steps.

    Raises:
        ConfigError: ``schedule.warmup_steps`` is more than ``total_steps``.

    Example:
        >>> from zoo.config import OptimizerConfig, ScheduleConfig
        >>> build_schedule(OptimizerConfig(), ScheduleConfig(name="linear"), 100).name
        'linear'
    """
    warmup = schedule_config.warmup_steps
    if warmup > total_steps:
        # The learning rate would climb for the whole run and never reach its peak (nor decay), whatever the
        # schedule: a run of fewer epochs than its warm-up trained at a fraction of the rate it asked for.
        raise ConfigError(f"schedule.warmup_steps: {warmup} is more than the {total_steps} optimizer steps of the "
                          "whole run (training.epochs x training examples // training.batch_size), so the learning "
                          "rate would never reach optimizer.learning_rate; lower schedule.warmup_steps, or set it "
                          "to 0 to warm up for schedule.warmup_fraction of the run")
    if not warmup and schedule_config.warmup_fraction:
        # A warm-up asked for lasts at least a step, also in a run too short to round it to one: ``transformer``
        # needs one, and its error would otherwise name warmup_steps, a key the user did not set.
        warmup = max(1, int(round(schedule_config.warmup_fraction * total_steps)))
    return WarmupSchedule(optimizer_config.learning_rate, schedule_config.name, warmup_steps=warmup,
                          total_steps=total_steps, final_fraction=schedule_config.final_fraction)


def build_optimizer(optimizer_config, schedule, exclude_from_decay=()):
    """Return the Keras optimizer of ``optimizer_config`` driven by ``schedule``.

    Clipping is NOT handed to Keras: a Keras optimizer clips each replica's gradients before it sums them
    across replicas, so clipped results would depend on the replica count. ``clip_gradients`` clips the
    summed gradients instead (see ``zoo.training.loop``).

    Args:
        optimizer_config: The ``optimizer`` section.
        schedule: A learning rate or ``LearningRateSchedule``.
        exclude_from_decay: Variables weight decay must not touch (zoo passes biases and normalisation
            scales, so only weight matrices decay).

    Example:
        >>> from zoo.config import OptimizerConfig
        >>> build_optimizer(OptimizerConfig(name="sgd", momentum=0.9, nesterov=True), 0.1).nesterov
        True
    """
    c = optimizer_config
    decay = c.weight_decay or None
    if c.name == "sgd":
        optimizer = keras.optimizers.SGD(schedule, momentum=c.momentum, nesterov=c.nesterov, weight_decay=decay)
    elif c.name == "adam":
        optimizer = keras.optimizers.Adam(schedule, beta_1=c.beta_1, beta_2=c.beta_2, epsilon=c.epsilon,
                                          weight_decay=decay)
    elif c.name == "adamw":
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=c.weight_decay, beta_1=c.beta_1,
                                           beta_2=c.beta_2, epsilon=c.epsilon)
    elif c.name == "rmsprop":
        optimizer = keras.optimizers.RMSprop(schedule, momentum=c.momentum, epsilon=c.epsilon, weight_decay=decay)
    else:
        raise ValueError(f"optimizer.name must be one of {', '.join(OPTIMIZERS)}; got {c.name!r}")
    if exclude_from_decay and optimizer.weight_decay:
        optimizer.exclude_from_weight_decay(var_list=list(exclude_from_decay))
    return optimizer


def clip_gradients(grads, clipnorm=None, clipvalue=None, scale=1.0):
    """Clip gradients by global norm and/or by value; ``scale`` is the loss scale the gradients carry.

    With loss scaling the gradients are ``scale`` times too large; clipping them at ``clipnorm * scale``
    (and ``clipvalue * scale``) equals clipping the true gradients, and non-finite gradients stay non-finite
    so the loss-scale optimizer still skips that step.

    Args:
        grads: List of tensors or ``tf.IndexedSlices`` (``None`` entries are kept).
        clipnorm: Largest global norm, or ``None``.
        clipvalue: Largest absolute element, or ``None``.
        scale: Loss scale the gradients were multiplied by.

    Example:
        >>> [g.numpy().tolist() for g in clip_gradients([tf.constant([3.0, 4.0])], clipnorm=1.0)]
        [[0.6000000238418579, 0.800000011920929]]
    """
    # Sparse gradients (embedding lookups) may repeat a row; the true gradient of that row is the sum, so
    # merge repeats first or norms and element values would be those of the parts, not of the gradient.
    grads = [_merge_repeated_rows(g) for g in grads]
    if clipvalue is not None:
        limit = clipvalue * scale
        grads = [_map_values(g, lambda v: tf.clip_by_value(v, -limit, limit)) for g in grads]
    if clipnorm is not None:
        present = [g for g in grads if g is not None]
        clipped, _ = tf.clip_by_global_norm(present, clipnorm * scale)
        clipped = iter(clipped)
        grads = [None if g is None else next(clipped) for g in grads]
    return grads


def _merge_repeated_rows(grad):
    if not isinstance(grad, tf.IndexedSlices):
        return grad
    rows, positions = tf.unique(grad.indices)
    values = tf.math.unsorted_segment_sum(grad.values, positions, tf.shape(rows)[0])
    return tf.IndexedSlices(values, rows, grad.dense_shape)


def _map_values(grad, fn):
    if grad is None:
        return None
    if isinstance(grad, tf.IndexedSlices):
        return tf.IndexedSlices(fn(grad.values), grad.indices, grad.dense_shape)
    return fn(grad)


def trainable_units(variables):
    """``variables`` with every sharded table replaced by its shards (see ``zoo.training.loop.optimization_units``)."""
    units = []
    for variable in variables:
        value = variable.value
        if isinstance(value, tf.__internal__.distribute.ShardedVariable):
            units.extend(value.variables)
        else:
            units.append(variable)
    return units


def optimizer_for(config, model, policy, total_steps):
    """Return the optimizer of a run's config for ``model`` (a ``GroupedOptimizer`` when rates differ).

    Layer-wise decay (``optimizer.layer_decay``) and the encoder scale (``optimizer.encoder_learning_rate_scale``)
    multiply; every distinct learning-rate multiplier gets its own optimizer, its schedule scaled by it.
    Weight decay skips ``decay_exclusions``.

    Args:
        config: The run's ``Config``.
        model: The model, built under the run's strategy scope.
        policy: The resolved precision policy name (``mixed_float16`` wraps a ``LossScaleOptimizer``).
        total_steps: Optimizer steps of the whole run (the schedule ends there).

    Example:
        >>> config = zoo.Config.from_dict({"model": {"name": "transformer-tiny"}, "optimizer": {"layer_decay": 0.8}})
        >>> model = zoo.models.build("transformer-tiny", vocab_size=100, num_classes=2, sequence_length=16)
        >>> optimizer = optimizer_for(config, model, "float32", total_steps=1000)
        >>> type(optimizer).__name__, len(optimizer.optimizers)  # embeddings, 2 blocks, the rest
        ('GroupedOptimizer', 4)
    """
    from zoo.training import transfer

    c = config.optimizer
    units = trainable_units(model.trainable_variables)
    stack = [trainable_units([v for layer in layers for v in layer.trainable_variables])
             for layers in transfer.encoder_stack(model)]
    multipliers = {}
    if c.layer_decay != 1.0:
        if not stack:
            raise ConfigError(f"optimizer.layer_decay: model {config.model.name!r} has no encoder blocks")
        if not any(stack):
            raise _scales_frozen("layer_decay", c.layer_decay, config.model)
        multipliers = layer_decay_multipliers(stack, c.layer_decay)
    if c.encoder_learning_rate_scale != 1.0:
        encoder = transfer.encoder_variables(model)
        if not encoder and getattr(model, "backbone", None) is not None:
            raise _scales_frozen("encoder_learning_rate_scale", c.encoder_learning_rate_scale, config.model)
        if not encoder:
            raise ConfigError(f"optimizer.encoder_learning_rate_scale: model {config.model.name!r} has no encoder "
                              "layers")
        for unit in trainable_units(encoder):
            multipliers[id(unit)] = multipliers.get(id(unit), 1.0) * c.encoder_learning_rate_scale
    # A baseline (LSTM, CNN) has no Backbone: its token table is a Keras Embedding of the model's own, which
    # optimizer.weight_decay_embeddings: false used to leave decaying.
    embeddings = stack[0] if stack else trainable_units(
        [v for layer in model.layers if isinstance(layer, keras.layers.Embedding) for v in layer.trainable_variables])
    excluded = decay_exclusions(units, embeddings, c.weight_decay_embeddings)

    def make(multiplier):
        scaled = dataclasses.replace(c, learning_rate=c.learning_rate * multiplier)
        return build_optimizer(scaled, build_schedule(scaled, config.schedule, total_steps), excluded)

    groups = group_by_multiplier(units, multipliers)
    if len(groups) == 1:
        optimizer = make(groups[0][0])
        return keras.optimizers.LossScaleOptimizer(optimizer) if policy == "mixed_float16" else optimizer
    if policy == "mixed_float16":
        raise ConfigError("optimizer.layer_decay / optimizer.encoder_learning_rate_scale != 1 do not support "
                          "training.precision: mixed_float16 (use mixed_bfloat16 or float32)")
    return GroupedOptimizer([make(multiplier) for multiplier, _ in groups], [group for _, group in groups])


def _scales_frozen(key, value, model_config):
    """The error for a learning-rate scale of the encoder when freezing leaves it no variable to scale: it would
    silently change nothing."""
    frozen = f"model.freeze: {model_config.freeze}" + (f" and model.freeze_blocks: {model_config.freeze_blocks}"
                                                       if model_config.freeze_blocks else "")
    return ConfigError(f"optimizer.{key}: {value} scales the learning rate of encoder layers that {frozen} keeps "
                       f"fixed, so it would change nothing; set optimizer.{key}: 1, or freeze less")


def decay_exclusions(units, embeddings=(), decay_embeddings=True):
    """Return the variables weight decay must not touch.

    Vectors and scalars never decay: biases and normalisation scales and offsets (LayerNorm pulls its
    scale towards 1, not 0). Embedding tables decay unless ``decay_embeddings`` is false, as in the BERT
    fine-tuning recipe (``FINE_TUNING_DEFAULTS``): decay would shrink the rows of words a small data set never
    shows, for nothing.

    Args:
        units: The variables the optimizer updates.
        embeddings: The embedding tables among them (token, position, segment).
        decay_embeddings: Whether the embedding tables decay.

    Example:
        >>> [tuple(v.shape) for v in decay_exclusions([keras.Variable(ops.ones((2, 3))), keras.Variable(ops.ones(3))])]
        [(3,)]
    """
    tables = set() if decay_embeddings else {id(v) for v in embeddings}
    return [u for u in units if len(u.shape) < 2 or id(u) in tables]


def layer_decay_multipliers(stack, decay):
    """Return the learning-rate multipliers of layer-wise decay, ``{id(variable): multiplier}``.

    With ``L`` blocks, block ``i`` (1 at the bottom) learns at ``decay ** (L + 1 - i)`` times the peak rate
    and the embeddings at ``decay ** (L + 1)``; variables outside ``stack`` (the head, pooler, final norm) keep
    the peak rate. Lower layers hold more general features, so they move less.

    Args:
        stack: Variable lists from the bottom up: the embeddings', then each encoder block's.
        decay: In ``(0, 1]``; 1 gives every variable multiplier 1.

    Example:
        >>> embedding, block = keras.Variable(ops.ones((4, 2))), keras.Variable(ops.ones((2, 2)))
        >>> sorted(layer_decay_multipliers([[embedding], [block]], 0.5).values())
        [0.25, 0.5]
    """
    depth = len(stack)
    return {id(v): decay ** (depth - level) for level, variables in enumerate(stack) for v in variables}


def group_by_multiplier(units, multipliers):
    """Split ``units`` by learning-rate multiplier (1 where ``multipliers`` has none): the unscaled group first,
    then the others, largest first.

    A ``GroupedOptimizer`` reports its first group's rate as the run's (``history.json``'s ``learning_rate``):
    first, the unscaled group reports ``optimizer.learning_rate``'s schedule, also under an
    ``encoder_learning_rate_scale`` above 1, whose doubled encoder rate was reported instead.

    Returns:
        ``[(multiplier, variables), ...]``, units in their original order within a group.
    """
    groups = {}
    for unit in units:
        groups.setdefault(multipliers.get(id(unit), 1.0), []).append(unit)
    return sorted(groups.items(), key=lambda item: (item[0] != 1.0, -item[0]))


class GroupedOptimizer(tf.Module):
    """Several optimizers behind one interface, each updating its own group of variables.

    Keras 3 optimizers have one learning rate for all variables, and scaling a group's gradients would
    not lower its steps under Adam (Adam's update does not depend on the gradient scale), so a group
    with its own learning rate (a scaled encoder, layer-wise decay) needs its own optimizer; weight decay,
    which Keras scales by the learning rate, then follows each group's rate too. All are checkpointed
    (this is a ``tf.Module``).

    Args:
        optimizers: One optimizer per group; the first one's learning rate is the one reported.
        groups: The variables each optimizer owns (disjoint).

    Example:
        >>> head, encoder = keras.Variable(ops.ones(2)), keras.Variable(ops.ones(2))
        >>> optimizer = GroupedOptimizer([keras.optimizers.SGD(1.0), keras.optimizers.SGD(0.1)], [[head], [encoder]])
        >>> optimizer.build([head, encoder])
        >>> optimizer.apply([ops.ones(2), ops.ones(2)], [head, encoder])
        >>> head.numpy(), encoder.numpy()
        (array([0., 0.], dtype=float32), array([0.9, 0.9], dtype=float32))
    """

    def __init__(self, optimizers, groups):
        super().__init__(name="grouped_optimizer")
        if len(optimizers) != len(groups):
            raise ValueError(f"{len(optimizers)} optimizers for {len(groups)} variable groups")
        self.optimizers = list(optimizers)
        self._owner = {id(unit): i for i, group in enumerate(groups) for unit in group}

    def _split(self, units, grads=None):
        grads = [None] * len(units) if grads is None else list(grads)
        parts = [[] for _ in self.optimizers]
        for grad, unit in zip(grads, units):
            parts[self._owner[id(unit)]].append((grad, unit))
        return parts

    def build(self, units):
        """Build every optimizer's slots for its share of ``units``."""
        for optimizer, pairs in zip(self.optimizers, self._split(units)):
            optimizer.build([u for _, u in pairs])

    def apply(self, grads, units):
        """Apply each optimizer to its share of ``(grads, units)``."""
        for optimizer, pairs in zip(self.optimizers, self._split(units, grads)):
            if pairs:
                optimizer.apply([g for g, _ in pairs], [u for _, u in pairs])

    def scale_loss(self, loss):
        """No loss scaling (``mixed_float16`` is not supported with groups)."""
        return loss

    @property
    def learning_rate(self):
        return self.optimizers[0].learning_rate

    @property
    def iterations(self):
        return self.optimizers[0].iterations
