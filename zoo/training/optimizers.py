"""Optimizers, learning-rate schedules and gradient clipping from the ``optimizer``/``schedule`` config sections."""
import math

import keras
import tensorflow as tf
from keras import ops

SCHEDULES = ("constant", "transformer", "linear", "cosine")


@keras.saving.register_keras_serializable(package="zoo")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak``, then ``constant``, ``transformer`` (inverse square root), ``linear`` or ``cosine``.

    ``transformer`` is the schedule of "Attention Is All You Need",
    ``d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)``, rescaled so that its maximum (at the end of the
    warm-up) is ``peak``: ``peak * min(step / warmup, sqrt(warmup / step))``. ``linear`` and ``cosine`` decay
    from ``peak`` at the end of the warm-up to ``peak * final_fraction`` at ``total_steps``. The step is
    1-based (the first update uses step 1), so warm-up never starts at a zero learning rate.

    Args:
        peak: Largest learning rate.
        name: ``constant``, ``transformer``, ``linear`` or ``cosine``.
        warmup_steps: Steps of linear warm-up.
        total_steps: All training steps (``linear``/``cosine`` end there).
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
        span = float(max(self.total_steps - self.warmup_steps, 1))
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

    Example:
        >>> from zoo.config import OptimizerConfig, ScheduleConfig
        >>> build_schedule(OptimizerConfig(), ScheduleConfig(name="linear"), 100).name
        'linear'
    """
    warmup = schedule_config.warmup_steps or int(round(schedule_config.warmup_fraction * total_steps))
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
        raise ValueError(f"optimizer.name must be one of sgd, adam, adamw, rmsprop; got {c.name!r}")
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


class SplitOptimizer(tf.Module):
    """Two optimizers behind one interface: ``encoder`` updates the encoder variables, ``main`` the rest.

    Keras 3 optimizers have one learning rate for all variables, and scaling the encoder's gradients would
    not lower its steps under Adam (Adam's update does not depend on the gradient scale), so a lower
    encoder learning rate needs a second optimizer. Both are checkpointed (this is a ``tf.Module``).

    Args:
        main: Optimizer of the non-encoder variables (its learning rate is the one reported).
        encoder: Optimizer of ``encoder_units``.
        encoder_units: The variables ``encoder`` owns.

    Example:
        >>> optimizer = SplitOptimizer(keras.optimizers.AdamW(1e-3), keras.optimizers.AdamW(1e-4), encoder_vars)  # doctest: +SKIP
    """

    def __init__(self, main, encoder, encoder_units):
        super().__init__(name="split_optimizer")
        self.main = main
        self.encoder = encoder
        self._encoder_ids = frozenset(id(unit) for unit in encoder_units)

    def _split(self, units, grads=None):
        grads = [None] * len(units) if grads is None else list(grads)
        mine = [(g, u) for g, u in zip(grads, units) if id(u) in self._encoder_ids]
        rest = [(g, u) for g, u in zip(grads, units) if id(u) not in self._encoder_ids]
        return rest, mine

    def build(self, units):
        """Build both optimizers' slots for their share of ``units``."""
        rest, mine = self._split(units)
        self.main.build([u for _, u in rest])
        self.encoder.build([u for _, u in mine])

    def apply(self, grads, units):
        """Apply each optimizer to its share of ``(grads, units)``."""
        rest, mine = self._split(units, grads)
        for optimizer, pairs in ((self.main, rest), (self.encoder, mine)):
            if pairs:
                optimizer.apply([g for g, _ in pairs], [u for _, u in pairs])

    def scale_loss(self, loss):
        """No loss scaling (``mixed_float16`` is not supported with a split)."""
        return loss

    @property
    def learning_rate(self):
        return self.main.learning_rate

    @property
    def iterations(self):
        return self.main.iterations
