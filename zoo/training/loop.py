"""The custom training loop: one ``strategy.run`` step for every strategy, the single device included.

Why not ``model.fit``: Keras 3.15's ``fit`` crashes under ``MultiWorkerMirroredStrategy``
(keras-team/keras#20585) and has no chief/worker logic for its checkpoints. A loop around ``strategy.run``
is the same code for the default strategy, ``MirroredStrategy``, ``MultiWorkerMirroredStrategy`` and
(through a ``ClusterCoordinator``) ``ParameterServerStrategy``, so the behaviour tested on one device is the
behaviour under every strategy. It also lets zoo clip the gradients after the cross-replica sum and feed
every replica a slice of one deterministic global batch (see ``EpochBatches``), which makes results
independent of the replica count (dropout aside: each replica draws its own masks, see ``Trainer``) and makes
resumed runs bit-identical to uninterrupted ones.
"""
import contextlib
import functools
import json
import signal
import threading
import time

import keras
import numpy as np
import tensorflow as tf

from zoo import interrupts
from zoo.training.objectives import perplexity
from zoo.training.optimizers import clip_gradients, trainable_units
from zoo.training.strategies import check_batch_size, is_parameter_server

# Keras casts a seed-generator state into [0, 2^31 - 2) (floormod) for TensorFlow's stateless random ops; the
# replicas split that range of counters into equal bands.
SEED_COUNTERS = 2**31 - 2


class NonFiniteLossError(ValueError):
    """The loss became NaN or Inf; training stopped and the last good checkpoint was kept."""


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM stopped training; rerunning the same command resumes from ``checkpoint``."""

    def __init__(self, message, signal_number, checkpoint):
        super().__init__(message)
        self.signal_number = signal_number
        self.checkpoint = checkpoint


def optimization_units(model):
    """Return the variables the optimizer updates: the model's, with sharded tables split into their shards.

    Keras optimizers cannot update a ``ShardedVariable`` (``extended.update`` rejects it), but each shard is
    an ordinary variable on one parameter server, so the optimizer updates (and keeps slots for) the shards.
    """
    return trainable_units(model.trainable_variables)


def _is_matrix(unit):
    return len(unit.shape) >= 2


class EpochBatches:
    """The example order of every epoch: a seeded permutation cut into full global batches.

    Epoch ``e`` uses ``numpy.random.default_rng([seed, e])``, so the order depends only on the seed and the
    epoch, never on the replica count or on where a run was interrupted: a resumed run skips the steps it
    already took and sees exactly the batches an uninterrupted run would. The last ``n % batch_size``
    examples of each epoch's permutation are left for later epochs (a different set every epoch), so every
    step has a full global batch that splits evenly over the replicas.

    With ``lengths``, examples of similar length share batches: each window of ``window`` consecutive
    batches of the permutation is sorted by length before it is cut, and then the order of all batches is
    shuffled. Batches are trimmed to their longest example, so far less padding is computed. The order of
    the batches owes nothing to length, so neither does the order of the labels; and lengths are compared
    in bands of 8 tokens (the granularity of the trimming), examples of one band staying in random order,
    so a batch mixes labels as much as length allows.

    Args:
        num_examples: Training examples.
        batch_size: Global batch size.
        seed: Run seed.
        lengths: Tokens per example, to bucket by length; ``None`` for plain random batches.
        window: Batches per sorting window.

    Example:
        >>> EpochBatches(10, 4, seed=0).indices(0).shape
        (2, 4)
    """

    def __init__(self, num_examples, batch_size, seed, lengths=None, window=32):
        if num_examples < batch_size:
            raise ValueError(f"training.batch_size {batch_size} is larger than the {num_examples} training "
                             "examples; lower training.batch_size")
        self.num_examples = num_examples
        self.batch_size = batch_size
        self.seed = seed
        self.lengths = None if lengths is None else np.asarray(lengths)
        self.window = window
        self.steps = num_examples // batch_size

    def indices(self, epoch):
        """Return the ``[steps, batch_size]`` example indices of ``epoch``."""
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(self.num_examples)[:self.steps * self.batch_size]
        if self.lengths is None:
            return order.reshape(self.steps, self.batch_size)
        span = self.window * self.batch_size
        windows = [order[i:i + span] for i in range(0, len(order), span)]
        bands = (self.lengths + 7) // 8
        order = np.concatenate([w[np.argsort(bands[w], kind="stable")] for w in windows])
        batches = order.reshape(self.steps, self.batch_size)
        return batches[rng.permutation(self.steps)]


class Trainer:
    """Runs optimizer steps and evaluations of ``model`` under ``strategy``.

    The loss of a step is the mean example loss over the GLOBAL batch (each replica divides its sum by the
    global batch size, the optimizer sums the replicas' gradients) plus the L1/L2 penalty on the weight
    matrices. Gradient clipping applies to that summed gradient.

    Random layers (dropout) draw from their seed generators, whose ``[seed, counter]`` states every replica
    holds a copy of. For the forward pass, replica ``r`` of ``R`` (``replica_id_in_sync_group``, global across
    workers) moves its copies' counters ``r * floor((2^31 - 2) / R)`` ahead and back after, so the replicas
    draw different masks from disjoint bands of one stream (disjoint while a layer has drawn fewer times than
    a band holds: 2^30 for two replicas). Replica 0 draws what one device would, the same seed repeats a run,
    and every copy ends the step at the state one device reaches, so checkpoints and resumed runs do not
    depend on the replica count. Results match one device's up to the dropout masks (which could not be
    one device's masks sliced anyway: each replica trims its slice of the batch to its own longest example).

    Data come as ``(features, labels)``: ``features`` a numpy array of token ids ``[N, T]`` or a dict of such
    arrays (seq2seq), ``labels`` a numpy array or ``None`` (token tasks make their targets from the
    features). The objective turns each gathered batch into model inputs and targets inside ``tf.data``.

    Args:
        model: A Keras model from token ids to logits, created under ``strategy.scope()``.
        optimizer: A Keras optimizer created under ``strategy.scope()`` (a ``LossScaleOptimizer`` for
            ``mixed_float16``), or a ``zoo.training.optimizers.GroupedOptimizer``.
        strategy: The ``tf.distribute`` strategy.
        objective: An ``Objective`` or ``TokenObjective`` (``zoo.training.objectives``).
        batch_size: Global batch size.
        l1: L1 penalty weight.
        l2: L2 penalty weight.
        clipnorm: Global-norm clipping threshold, or ``None``.
        clipvalue: Element clipping threshold, or ``None``.
        jit_compile: XLA-compile the step (only valid for the default strategy).
        seed: Seeds the objective's random targets (``mlm`` masking), per step.

    Example:
        >>> from zoo.training.objectives import Objective
        >>> model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(10, 4),
        ...                           keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2)])
        >>> trainer = Trainer(model, keras.optimizers.Adam(0.1), tf.distribute.get_strategy(), Objective(), 2)
        >>> features, labels = np.array([[2, 3, 0, 0], [4, 5, 6, 0]]), np.array([0, 1])
        >>> steps = iter(trainer.distribute(features, labels, EpochBatches(2, 2, seed=0).indices(0)))
        >>> [(round(float(loss_sum), 2), int(count)) for loss_sum, _, count in trainer.run_steps(steps, 1)]
        [(1.37, 2)]
    """

    def __init__(self, model, optimizer, strategy, objective, batch_size, *, l1=0.0, l2=0.0, clipnorm=None,
                 clipvalue=None, jit_compile=False, seed=0):
        self.model = model
        self.optimizer = optimizer
        self.strategy = strategy
        self.objective = objective
        self.batch_size = int(batch_size)
        self.l1, self.l2 = float(l1), float(l2)
        self.clipnorm, self.clipvalue = clipnorm, clipvalue
        self.seed = int(seed)
        self.units = optimization_units(model)
        weights = {id(w) for w in model.weights}
        # Keras's ``variables`` are the ``weights`` plus the states of the layers' seed generators.
        self.seed_states = [v for v in model.variables if id(v) not in weights]
        self.parameter_server = is_parameter_server(strategy)
        replicas = 1 if self.parameter_server else strategy.num_replicas_in_sync
        check_batch_size(self.batch_size, strategy)
        self.per_replica_batch = self.batch_size // replicas
        with strategy.scope():
            optimizer.build(self.units)
        self._jit_compile = bool(jit_compile)
        self._train_fn = self._train_spec = None
        self._evaluator = Evaluator(model, objective, seed=self.seed, jit_compile=jit_compile)
        self._scheduled_fn = tf.function(lambda iterator: self._distributed_step(next(iterator)), autograph=False)
        self._coordinator = None

    def _penalty(self):
        matrices = [u.value if isinstance(u, keras.Variable) else u for u in self.units if _is_matrix(u)]
        total = tf.constant(0.0)
        if self.l1:
            total += self.l1 * tf.add_n([tf.reduce_sum(tf.abs(tf.cast(m, tf.float32))) for m in matrices])
        if self.l2:
            total += self.l2 * tf.add_n([tf.reduce_sum(tf.square(tf.cast(m, tf.float32))) for m in matrices])
        return total

    def _replica_step(self, inputs, targets):
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        with tf.GradientTape() as tape:
            self._shift_seed_counters(context, 1)
            if self.objective.r_drop:
                # One call on the batch twice over: each copy draws its own dropout, in one pass's time per row.
                both = self.model(tf.nest.map_structure(lambda t: tf.concat([t, t], 0), inputs), training=True)
                logits, other = tf.split(both, 2)
            else:
                logits = self.model(inputs, training=True)
            self._shift_seed_counters(context, -1)
            per_example = (self.objective.r_drop_loss(targets, logits, other) if self.objective.r_drop else
                           self.objective.training_loss(targets, logits))
            loss = tf.reduce_sum(per_example) / self.batch_size
            if self.l1 or self.l2:
                loss += self._penalty() / replicas
            scaled = self.optimizer.scale_loss(loss)
        sources = [u.value if isinstance(u, keras.Variable) else u for u in self.units]
        grads = tape.gradient(scaled, sources)
        if replicas > 1 and isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
            grads = _overflow_anywhere(context, self.optimizer, grads)
        if self.clipnorm is not None or self.clipvalue is not None:
            # The optimizer sums gradients over replicas inside apply(); clip the sum here, then hand each
            # replica an equal share so that apply()'s sum restores the clipped total.
            if replicas > 1:
                # Dense: summing sparse (IndexedSlices) gradients twice, here and in apply(), makes the
                # second gather see different shapes on different replicas and abort. A variable the loss does
                # not reach has no gradient (None), which all_reduce rejects: it stays None, as on one device.
                present = [_dense(g) for g in grads if g is not None]
                summed = iter(context.all_reduce(tf.distribute.ReduceOp.SUM, present))
                grads = [next(summed) if g is not None else None for g in grads]
            scale = getattr(self.optimizer, "dynamic_scale", 1.0)
            grads = clip_gradients(grads, self.clipnorm, self.clipvalue, scale)
            if replicas > 1:
                grads = [_scale(g, 1.0 / replicas) for g in grads]
        self.optimizer.apply(grads, self.units)
        return self.objective.sums(targets, logits, per_example)

    def _shift_seed_counters(self, context, sign):
        """Move this replica's copies of the seed-generator states into (1) or out of (-1) its counter band."""
        replicas = context.num_replicas_in_sync
        # One replica keeps the plain stream (and the single-device graph unchanged). Parameter-server workers
        # share one state on the parameter servers, not copies of their own, so they cannot shift it apart.
        if replicas == 1 or self.parameter_server:
            return
        # With aggregation "none" (Keras's seed generators), a replica's read and assignment touch only its own
        # copy of a mirrored variable.
        band = tf.cast(context.replica_id_in_sync_group, tf.int64) * (SEED_COUNTERS // replicas)
        for state in self.seed_states:
            state.assign_add(tf.cast(tf.stack([0, sign * band]), state.dtype))

    def _distributed_step(self, batch):
        inputs, targets = batch
        outputs = self.strategy.run(self._replica_step, args=(inputs, targets))
        if self.parameter_server:
            return outputs
        return tuple(self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None) for value in outputs)

    def _batch_fn(self, features, labels, place):
        """A ``tf.data`` map from ``(batch number, example indices)`` to prepared ``(inputs, targets)``.

        ``place(number)`` gives the batch's ``(seed, first row)``: the stateless seed of its global batch's
        random targets, and where its rows start in that global batch (see ``TokenObjective.prepare``).
        """
        features_t = tf.nest.map_structure(tf.constant, features)
        labels_t = None if labels is None else tf.constant(labels)

        @tf.autograph.experimental.do_not_convert  # branches on Python values only: autograph adds only time
        def prepare(number, indices):
            seed, first = place(number)
            batch = tf.nest.map_structure(lambda t: tf.gather(t, indices), features_t)
            return self.objective.prepare(batch, None if labels_t is None else tf.gather(labels_t, indices), seed,
                                          rows=(first, self.batch_size))

        return prepare

    def distribute(self, features, labels, batch_indices, first_step=0):
        """Return the distributed data set of the steps ``batch_indices`` (``[steps, batch_size]``).

        One data set serves the rest of the run (building one per epoch costs more than a small epoch).

        Each input pipeline (one per worker) takes its contiguous share of every global batch and cuts it
        into per-replica batches, which the strategy hands to its local replicas in order: the union of the
        replicas' examples in a step is exactly that step's global batch. ``first_step`` is the global step
        of the first row of ``batch_indices``: the objective's random targets are drawn for the whole global
        batch from a seed of the step, so a resumed run draws what an uninterrupted one would, whatever the
        replica count of either.
        """

        def dataset_fn(context):
            pipelines, pipeline = context.num_input_pipelines, context.input_pipeline_id
            share = self.batch_size // pipelines
            local = share // self.per_replica_batch
            mine = batch_indices[:, pipeline * share:(pipeline + 1) * share].reshape(-1)
            data = tf.data.Dataset.from_tensor_slices(mine.astype(np.int64)).batch(self.per_replica_batch)

            def place(number):  # per-replica batch ``number`` of this pipeline: local replica number % local
                step = first_step + number // local
                return (tf.stack([tf.constant(self.seed, tf.int64), step]),
                        pipeline * share + number % local * self.per_replica_batch)

            data = data.enumerate().map(self._batch_fn(features, labels, place))
            return data.prefetch(tf.data.AUTOTUNE)

        return self.strategy.distribute_datasets_from_function(dataset_fn)

    def run_steps(self, iterator, steps):
        """Run ``steps`` steps from a distributed ``iterator``; yield each ``(loss_sum, correct_sum, count)``."""
        if self._train_spec != iterator.element_spec:
            # Batches cut to their longest example change width from step to step; the iterator's spec leaves
            # the width open, so one graph serves them all, traced once (a 6-layer BERT step takes seconds to
            # trace). XLA compiles one program per width.
            self._train_spec = iterator.element_spec
            self._train_fn = tf.function(self._distributed_step, input_signature=[self._train_spec],
                                         jit_compile=self._jit_compile, autograph=False)
        for _ in range(steps):
            yield tuple(value.numpy() for value in self._train_fn(next(iterator)))

    def evaluate(self, features, labels=None, batch_size=256):
        """Return the ``Evaluator`` metrics of the model over all given examples (see ``Evaluator``).

        Every worker evaluates the whole set on its own copy of the weights (identical across workers), so
        early-stopping decisions agree everywhere without extra communication.
        """
        return self._evaluator(features, labels, batch_size)

    # Parameter-server training: steps are closures scheduled on whichever worker is free.

    def coordinator(self):
        """Return the ``ClusterCoordinator`` of a parameter-server strategy (created once)."""
        if self._coordinator is None:
            self._coordinator = tf.distribute.coordinator.ClusterCoordinator(self.strategy)
        return self._coordinator

    def parameter_server_iterator(self, features, labels, seed):
        """Return a per-worker iterator over endless, differently shuffled global batches."""
        count = len(self.objective.lengths(features))

        def dataset_fn(context):
            worker_seed = seed + 1000 * context.input_pipeline_id
            data = tf.data.Dataset.range(count).shuffle(count, seed=worker_seed).repeat()
            data = data.batch(self.batch_size, drop_remainder=True).enumerate()
            # Each worker's batches are whole global batches; the workers' random targets differ by seed.
            targets_seed = tf.constant(self.seed + 7919 * context.input_pipeline_id, tf.int64)
            place = lambda number: (tf.stack([targets_seed, number]), 0)  # noqa: E731
            return data.map(self._batch_fn(features, labels, place)).prefetch(tf.data.AUTOTUNE)

        per_worker = self.coordinator().create_per_worker_dataset(
            self.strategy.distribute_datasets_from_function(dataset_fn))
        return iter(per_worker)

    def schedule_steps(self, iterator, steps):
        """Schedule ``steps`` steps, wait for them, return their ``(loss_sum, correct_sum, count)`` results."""
        coordinator = self.coordinator()
        remote = [coordinator.schedule(self._scheduled_fn, args=(iterator,)) for _ in range(steps)]
        coordinator.join()
        return [tuple(np.asarray(v) for v in r.fetch()) for r in remote]


class Evaluator:
    """Scores a model on examples with an objective: mean loss, accuracy and (token tasks) perplexity.

    The means are per example for classification and per predicted token for token tasks; no weight
    penalty. Examples are batched in length order so that little padding is computed, and the objective's
    random targets (``mlm`` masking) use one fixed seed, so repeated evaluations score the same tokens.

    Args:
        model: A Keras model.
        objective: An ``Objective`` or ``TokenObjective``.
        seed: Seed of the objective's random targets.
        jit_compile: XLA-compile the evaluation step.

    Example:
        >>> from zoo.training.objectives import TokenObjective
        >>> lm = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(50, 8),
        ...                        keras.layers.Dense(50)])
        >>> scores = Evaluator(lm, TokenObjective("lm", 50))(np.array([[2, 7, 9, 3, 0]]))
        >>> scores["tokens"], round(scores["perplexity"])  # an untrained model: about the vocabulary size
        (3, 50)
    """

    def __init__(self, model, objective, *, seed=0, jit_compile=False):
        self.model = model
        self.objective = objective
        self.seed = int(seed)
        # A partial, not the bound method: TensorFlow counts the traces of a method's function over all its
        # instances, and warned of retracing from the second run of a process (zoo cv's second fold) on.
        self._fn = tf.function(functools.partial(Evaluator._batch, self), jit_compile=bool(jit_compile),
                               reduce_retracing=True, autograph=False)

    def _batch(self, features, labels):
        inputs, targets = self.objective.prepare(features, labels, tf.constant([self.seed, -1], tf.int64))
        logits = self.model(inputs, training=False)
        return self.objective.sums(targets, logits, self.objective.loss(targets, logits))

    def __call__(self, features, labels=None, batch_size=256):
        """Return ``{"loss", "accuracy"}`` over ``(features, labels)``; token tasks add ``perplexity`` and ``tokens``."""
        order = np.argsort(self.objective.lengths(features), kind="stable")
        loss = correct = count = 0.0
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            batch = tf.nest.map_structure(lambda a: tf.constant(a[chunk]), features)
            out = self._fn(batch, None if labels is None else tf.constant(labels[chunk]))
            loss += float(out[0])
            correct += float(out[1])
            count += float(out[2])
        if not count:
            raise ValueError("cannot evaluate on zero examples" if not len(order) else
                             "cannot evaluate: the examples have no tokens to predict")
        metrics = {"loss": loss / count, "accuracy": correct / count}
        if self.objective.token_level:
            metrics.update(perplexity=perplexity(metrics["loss"]), tokens=int(count))
        return metrics


def _overflow_anywhere(context, optimizer, grads):
    """Make every replica's gradients NaN when any replica's are not finite.

    Keras's ``LossScaleOptimizer`` decides whether to skip a step (and halve the loss scale) from replica 0's
    gradients alone, before ``apply()`` sums them: an overflow on another replica alone was summed into the
    weights, which then held Inf/NaN. One summed flag makes every replica skip the step, as one device does.
    """
    overflows = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                   tf.cast(tf.logical_not(optimizer.check_finite(grads)), tf.float32))
    poison = tf.where(overflows > 0, np.nan, 0.0)
    return [None if g is None else
            tf.IndexedSlices(g.values + tf.cast(poison, g.dtype), g.indices, g.dense_shape)
            if isinstance(g, tf.IndexedSlices) else g + tf.cast(poison, g.dtype) for g in grads]


def _dense(grad):
    return None if grad is None else tf.convert_to_tensor(grad)


def _scale(grad, factor):
    if grad is None:
        return None
    if isinstance(grad, tf.IndexedSlices):
        return tf.IndexedSlices(grad.values * factor, grad.indices, grad.dense_shape)
    return grad * factor


class TrainingState(tf.Module):
    """Loop position and early-stopping bookkeeping, saved in every checkpoint next to model and optimizer."""

    def __init__(self):
        super().__init__(name="training_state")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.loss_sum = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self.correct_sum = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self.count = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self.best_value = tf.Variable(np.nan, dtype=tf.float64, trainable=False)
        self.best_epoch = tf.Variable(-1, dtype=tf.int64, trainable=False)
        self.wait = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.elapsed = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        # The finished epochs' history records (JSON), so history always matches the checkpoint.
        self.history = tf.Variable("[]", dtype=tf.string, trainable=False)

    def records(self):
        """Return the history records of the finished epochs."""
        return json.loads(self.history.numpy().decode("utf-8"))

    def append_record(self, record):
        """Add a finished epoch's history record."""
        self.history.assign(json.dumps(self.records() + [record]))


@contextlib.contextmanager
def interruptible():
    """Turn SIGINT/SIGTERM into a flag the loop checks between steps (main thread only).

    Yields a one-element list holding the received signal number, or ``None``; a SIGINT that arrived before
    the loop and was swallowed on its way (``zoo.interrupts``) counts as received.
    """
    received = [interrupts.pending()]
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {}

    def handler(number, frame):
        if received[0] is not None:
            # A second signal means "stop now": restore the default behaviour and re-deliver it.
            signal.signal(number, previous[number])
            signal.raise_signal(number)
        received[0] = number

    for number in (signal.SIGINT, signal.SIGTERM):
        previous[number] = signal.signal(number, handler)
    try:
        yield received
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def check_finite(loss_sum, epoch, step, checkpointer):
    """Raise ``NonFiniteLossError`` when a step's loss is NaN or Inf, naming the intact checkpoint."""
    if np.isfinite(loss_sum):
        return
    kept = checkpointer.latest if checkpointer is not None else None
    where = f"the last good checkpoint {kept} is intact" if kept else "no checkpoint had been written yet"
    raise NonFiniteLossError(
        f"training stopped: the loss became {'NaN' if np.isnan(loss_sum) else 'Inf'} at epoch {epoch + 1}, "
        f"step {step + 1}; {where}. Lower optimizer.learning_rate, set optimizer.clipnorm, or use "
        f"training.precision: float32.")


class Throughput:
    """Training examples per second since the last ``reset``, the first step after it not counted.

    The first step of a run traces the step (seconds for a BERT) and fills the input pipeline: counted, it
    would make a short epoch look several times slower than its steady rate. Until a second step is done,
    the rate is the first step's. ``add`` counts steps when they finish: parameter-server steps, scheduled
    asynchronously, are added a chunk at a time once the coordinator has joined them (``fit._steps``), the
    first chunk standing for the first step.

    Example:
        >>> throughput = Throughput()
        >>> throughput.add(32)  # the first step: the clock starts over when it ends
        >>> throughput.add(32)
        >>> throughput.rate > 0, throughput.counted
        (True, 32)
    """

    def __init__(self):
        self.reset()

    def reset(self):
        self.start = time.perf_counter()
        self.examples = 0
        self._first = None  # (time, examples) when the first step ended

    def add(self, examples):
        self.examples += examples
        if self._first is None:
            self._first = (time.perf_counter(), self.examples)

    def _window(self):
        """``(start, examples)`` the rate counts: from the first step's end once a second step is done."""
        if self._first and self.examples > self._first[1]:
            return self._first[0], self.examples - self._first[1]
        return self.start, self.examples

    @property
    def counted(self):
        """The examples the rate counts."""
        return self._window()[1]

    @property
    def rate(self):
        start, examples = self._window()
        elapsed = time.perf_counter() - start
        return examples / elapsed if elapsed > 0 else 0.0
