"""The training step against hand-written references, batching, and mirrored == single device."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.models
from zoo.evaluation.metrics import predicted_ids
from zoo.export.serving import logits_to_probabilities
from zoo.layers import Dropout
from zoo.training.fit import EarlyStopping
from zoo.training import loop
from zoo.training.loop import EpochBatches, Throughput, Trainer, TrainingState
from zoo.training.objectives import Objective, TokenObjective, trim_padding
from zoo.training.strategies import get_strategy

TINY = {"num_layers": 1, "d_model": 16, "num_heads": 2, "ff_dim": 32}


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_multiclass_loss_matches_numpy(smoothing):
    logits = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3], [-3.0, 4.0, 0.0]], np.float32)
    labels = np.array([0, 1, 1])
    targets = np.eye(3)[labels] * (1 - smoothing) + smoothing / 3
    expected = -(targets * _log_softmax(logits.astype(np.float64))).sum(-1)
    objective = Objective("multiclass", smoothing)
    np.testing.assert_allclose(objective.loss(tf.constant(labels), tf.constant(logits)), expected, rtol=1e-5)
    np.testing.assert_array_equal(objective.correct(tf.constant(labels), tf.constant(logits)), [1, 0, 1])


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_binary_loss_matches_numpy(smoothing):
    logits = np.array([[1.5], [-0.5], [3.0]], np.float32)
    labels = np.array([1, 1, 0])
    target = labels * (1 - smoothing) + 0.5 * smoothing
    p = 1 / (1 + np.exp(-logits[:, 0].astype(np.float64)))
    expected = -(target * np.log(p) + (1 - target) * np.log(1 - p))
    objective = Objective("binary", smoothing)
    np.testing.assert_allclose(objective.loss(tf.constant(labels), tf.constant(logits)), expected, rtol=1e-5)
    np.testing.assert_array_equal(objective.correct(tf.constant(labels), tf.constant(logits)), [1, 0, 0])


def test_class_weights_weigh_each_example_s_training_loss_by_its_class():
    from zoo.training.objectives import class_weights

    labels = np.array([0, 0, 0, 1])
    # scikit-learn's "balanced": n / (classes * count), so each class weighs as much in total
    np.testing.assert_allclose(class_weights("balanced", labels, ["ham", "spam"]), [4 / (2 * 3), 4 / (2 * 1)])
    np.testing.assert_allclose(class_weights({"spam": 5, 1: 2}, labels, ["1", "ham", "spam"]), [2, 1, 5])
    # metrics.json records them (tolist): float32 wrote 0.6 as 0.6000000238418579
    assert class_weights({"spam": 0.6}, labels, ["ham", "spam"]).tolist() == [1.0, 0.6]
    assert class_weights(None, labels, ["ham", "spam"]) is None
    with pytest.raises(ValueError, match="^class_weight.junk: no such class; the classes are ham, spam$"):
        class_weights({"junk": 2}, labels, ["ham", "spam"])
    logits = np.array([[1.5], [-0.5], [3.0]], np.float32)
    binary = Objective("binary", class_weights=[2.0, 0.5])
    np.testing.assert_allclose(binary.training_loss(tf.constant([1, 1, 0]), tf.constant(logits)),
                               binary.loss(tf.constant([1, 1, 0]), tf.constant(logits)) * [0.5, 0.5, 2.0], rtol=1e-6)
    with pytest.raises(ValueError, match="a multi-label example has several"):
        Objective("multilabel", class_weights=[1.0, 2.0])


def _kl(p, q):
    return (p * np.log(p / q)).sum(-1)


@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
def test_r_drop_loss_matches_numpy(mode):
    # The mean of the two passes' (weighted, smoothed) losses plus r_drop times half the two KL divergences, each
    # written from its definition: over the classes (softmax), or per label over its two outcomes (sigmoid).
    rng = np.random.default_rng(0)
    width = {"multiclass": 3, "binary": 1, "multilabel": 4}[mode]
    first, second = (rng.normal(size=(5, width)).astype(np.float32) for _ in range(2))
    labels = rng.integers(0, 2, size=(5, 4)) if mode == "multilabel" else rng.integers(0, width if width > 1 else 2, 5)
    weights = None if mode == "multilabel" else [0.5, 2.0, 1.0][: max(width, 2)]
    objective = Objective(mode, 0.1, class_weights=weights, r_drop=2.5)
    got = objective.r_drop_loss(tf.constant(labels), tf.constant(first), tf.constant(second)).numpy()
    a, b = first.astype(np.float64), second.astype(np.float64)
    if mode == "multiclass":
        p, q = np.exp(_log_softmax(a)), np.exp(_log_softmax(b))
        divergence = 0.5 * (_kl(p, q) + _kl(q, p))
    else:
        p, q = 1 / (1 + np.exp(-a)), 1 / (1 + np.exp(-b))
        p, q = np.stack([p, 1 - p], -1), np.stack([q, 1 - q], -1)
        divergence = (0.5 * (_kl(p, q) + _kl(q, p))).mean(-1)
    mean = 0.5 * (objective.training_loss(tf.constant(labels), tf.constant(first)).numpy()
                  + objective.training_loss(tf.constant(labels), tf.constant(second)).numpy())
    np.testing.assert_allclose(got, mean + 2.5 * divergence, rtol=1e-5)
    with pytest.raises(ValueError, match="r_drop must be a number >= 0, got -1"):
        Objective(mode, r_drop=-1)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_multilabel_loss_and_accuracy_match_numpy(smoothing):
    # Each label is its own sigmoid (not a softmax over labels); the loss and accuracy of an example are the
    # means over its labels, so neither grows with the number of labels.
    logits = np.array([[1.5, -0.5, 0.2, -2.0], [0.3, 2.5, -1.0, 0.7]], np.float32)
    labels = np.array([[1, 1, 0, 0], [0, 1, 1, 1]])
    target = labels * (1 - smoothing) + 0.5 * smoothing
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = -(target * np.log(p) + (1 - target) * np.log(1 - p)).mean(-1)
    objective = Objective("multilabel", smoothing)
    np.testing.assert_allclose(objective.loss(tf.constant(labels), tf.constant(logits)), expected, rtol=1e-5)
    np.testing.assert_allclose(objective.correct(tf.constant(labels), tf.constant(logits)),
                               ((logits > 0) == labels).mean(-1))


@pytest.mark.parametrize("mode", ["binary", "multilabel"])
def test_training_accuracy_decides_a_logit_of_zero_as_serving_and_evaluation_do(mode):
    # Logits at and within float32 rounding of 0 (probability exactly 0.5), and clear ones.
    logits = np.array([[0.0], [1e-9], [-1e-9], [3.0], [-3.0]], np.float32)
    if mode == "multilabel":
        logits = logits.reshape(1, -1)
    served = logits_to_probabilities(tf.constant(logits), mode).numpy()
    decided = predicted_ids(served, multilabel=mode == "multilabel")  # what zoo evaluate scores
    objective = Objective(mode)
    for truth in (0, 1):
        labels = np.full(decided.shape, truth)
        expected = (decided == labels).mean(axis=-1) if mode == "multilabel" else (decided == labels).astype(float)
        # One label decided otherwise moves a multilabel row's accuracy by 0.2: 1e-6 is float32 rounding only.
        np.testing.assert_allclose(objective.correct(tf.constant(labels), tf.constant(logits)).numpy(), expected,
                                   rtol=0, atol=1e-6)


def test_epoch_batches_are_seeded_full_and_disjoint():
    batches = EpochBatches(103, 10, seed=3)
    first = batches.indices(0)
    assert first.shape == (10, 10) and len(np.unique(first)) == 100
    np.testing.assert_array_equal(first, EpochBatches(103, 10, seed=3).indices(0))
    assert not np.array_equal(first, batches.indices(1))
    assert not np.array_equal(first, EpochBatches(103, 10, seed=4).indices(0))
    with pytest.raises(ValueError, match="training.batch_size 200 is larger than the 103 training examples"):
        EpochBatches(103, 200, seed=0)


def test_bucketing_keeps_the_epoch_and_groups_similar_lengths():
    lengths = np.random.default_rng(0).integers(1, 60, size=640)
    plain = EpochBatches(640, 16, seed=1).indices(2)
    bucketed = EpochBatches(640, 16, seed=1, lengths=lengths).indices(2)
    np.testing.assert_array_equal(np.sort(plain.ravel()), np.sort(bucketed.ravel()))
    spread = lambda b: np.mean(lengths[b].max(1) - lengths[b].min(1))  # noqa: E731
    assert spread(bucketed) < spread(plain) / 3


def test_bucketing_does_not_order_the_labels_when_they_follow_length():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, size=2048)
    labels = (lengths > 30).astype(int) ^ (rng.random(2048) < 0.3)  # mostly, not only, a matter of length
    for seed in range(4):
        batches = EpochBatches(2048, 32, seed=seed, lengths=lengths).indices(0)
        positive = labels[batches].mean(axis=1)
        # No trend over the epoch: not short (one class) first and long (the other) last.
        assert abs(np.corrcoef(np.arange(len(positive)), positive)[0, 1]) < 0.3
        assert abs(positive[:32].mean() - positive[32:].mean()) < 0.15
    # Within a band of 8 tokens, examples keep the permutation's random order: batches mix labels.
    batches = EpochBatches(2048, 32, seed=0, lengths=lengths).indices(0)
    mixed = [(labels[b].min(), labels[b].max()) == (0, 1) for b in batches]
    assert np.mean(mixed) > 0.9
    # Even where the label is a matter of the exact length, lengths of one band (1 to 8) are not sorted apart.
    lengths = rng.integers(1, 9, size=2048)
    batches = EpochBatches(2048, 32, seed=0, lengths=lengths).indices(0)
    assert np.mean([len(np.unique(lengths[b] % 2)) == 2 for b in batches]) > 0.9


@pytest.mark.parametrize("monitor, values, min_delta, improved, stopped_after", [
    # A repeated best is no improvement, so a plateau uses up the patience (2 epochs after the best, epoch 3).
    ("val_accuracy", [0.5, 0.75, 0.75, 0.875, 0.875, 0.875, 1.0], 0.0, [0, 1, 3], 5),
    # Lower is better; a change of exactly min_delta (0.25, exact in binary) is not more than it, so epoch 1 and
    # epoch 4 (0.25 below the best, epoch 2) do not count and the run stops there.
    ("val_loss", [1.0, 0.75, 0.5, 0.375, 0.25, 0.0], 0.25, [0, 2], 4),
])
def test_early_stopping_counts_patience_from_the_best_epoch(monitor, values, min_delta, improved, stopped_after):
    stopping = EarlyStopping(TrainingState(), monitor, patience=2, min_delta=min_delta)
    seen, stop_epoch = [], None
    for epoch, value in enumerate(values):
        better, stop = stopping.update({monitor: value}, epoch)
        seen += [epoch] if better else []
        if stop:
            stop_epoch = epoch
            break
    assert (seen, stop_epoch) == (improved, stopped_after)
    assert int(stopping.state.best_epoch.numpy()) == improved[-1]
    assert float(stopping.state.best_value.numpy()) == values[improved[-1]]


def test_throughput_leaves_out_the_first_step_which_traces(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(loop.time, "perf_counter", lambda: clock[0])
    throughput = Throughput()
    clock[0] = 5.0  # the first step: 32 examples in 5 s, most of it tracing
    throughput.add(32)
    assert throughput.rate == pytest.approx(32 / 5)  # one step: all there is to go by
    for _ in range(2):
        clock[0] += 0.5
        throughput.add(32)
    assert throughput.rate == pytest.approx(64 / 1.0)  # the steady steps only, not 96 / 6
    throughput.reset()  # the next epoch starts over, its first step left out too
    clock[0] += 2.0
    throughput.add(16)
    clock[0] += 0.25
    throughput.add(16)
    assert throughput.rate == pytest.approx(16 / 0.25)


def test_trim_padding_cuts_to_the_longest_row_rounded_to_8():
    ids = np.zeros((3, 32), np.int32)
    ids[0, :5] = 7
    ids[1, :11] = 3
    trimmed = trim_padding(tf.constant(ids)).numpy()
    np.testing.assert_array_equal(trimmed, ids[:, :16])
    assert trim_padding(tf.zeros((2, 32), tf.int32)).shape == (2, 8)
    # A BERT pair's segment ids are cut with its token ids, to the token ids' width.
    segments = (ids > 0).astype(np.int32) * np.arange(32) % 2
    features, _ = Objective().prepare({"token_ids": tf.constant(ids), "segment_ids": tf.constant(segments)}, None)
    np.testing.assert_array_equal(features["token_ids"], ids[:, :16])
    np.testing.assert_array_equal(features["segment_ids"], segments[:, :16])


def _data(n=64, length=8, vocab=50, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, size=(n, length)).astype(np.int32)
    ids[:, 5:] *= rng.integers(0, 2, size=(n, 1)).astype(np.int32)  # some rows end in padding
    return ids, (ids[:, 0] > vocab // 2).astype(np.int32)


def _model(strategy, dropout=0.0):
    keras.utils.set_random_seed(7)
    with strategy.scope():
        return zoo.models.build("transformer-tiny", vocab_size=50, sequence_length=8, num_classes=2,
                                dropout=dropout, **TINY)


@pytest.mark.parametrize("settings", [
    {"label_smoothing": 0.1, "l2": 0.01, "clipnorm": 0.05},
    {"l1": 0.001, "clipvalue": 0.001},
    {"label_smoothing": 0.1, "class_weights": [0.25, 3.0]},
])
def test_one_step_follows_the_written_objective(settings):
    """One SGD step equals w - lr * grad of (mean smoothed CE over the batch, each example times its class's
    weight, + L1/L2 on matrices), clipped; evaluation's loss stays the unweighted mean."""
    ids, labels = _data()
    strategy = tf.distribute.get_strategy()
    model = _model(strategy)
    before = [np.array(w) for w in model.trainable_weights]
    lr = 0.5
    smoothing = settings.get("label_smoothing", 0)
    with tf.GradientTape() as tape:
        logits = model(ids, training=True)
        targets = tf.one_hot(labels, 2) * (1 - smoothing) + smoothing / 2
        weights = np.asarray(settings.get("class_weights", [1.0, 1.0]), np.float32)[labels]
        loss = -tf.reduce_mean(weights * tf.reduce_sum(targets * tf.nn.log_softmax(logits), -1))
        matrices = [w for w in model.trainable_weights if len(w.shape) >= 2]
        loss += settings.get("l2", 0) * tf.add_n([tf.reduce_sum(w * w) for w in matrices])
        loss += settings.get("l1", 0) * tf.add_n([tf.reduce_sum(tf.abs(w)) for w in matrices])
    grads = [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, model.trainable_weights)]
    if "clipnorm" in settings:
        norm = np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads))
        grads = [g * min(1.0, settings["clipnorm"] / norm) for g in grads]
    if "clipvalue" in settings:
        grads = [np.clip(g, -settings["clipvalue"], settings["clipvalue"]) for g in grads]
    expected = [w - lr * g for w, g in zip(before, grads)]

    objective = Objective("multiclass", smoothing, class_weights=settings.get("class_weights"))
    trainer = Trainer(model, keras.optimizers.SGD(lr), strategy, objective,
                      batch_size=len(ids), l1=settings.get("l1", 0), l2=settings.get("l2", 0),
                      clipnorm=settings.get("clipnorm"), clipvalue=settings.get("clipvalue"))
    iterator = iter(trainer.distribute(ids, labels, np.arange(len(ids))[None]))
    (loss_sum, correct, count), = trainer.run_steps(iterator, 1)
    assert count == len(ids)
    for got, want in zip(model.trainable_weights, expected):
        np.testing.assert_allclose(np.array(got), want, rtol=2e-4, atol=2e-6)
    log_p = _log_softmax(np.asarray(model(ids, training=False), np.float64))
    unweighted = -((np.eye(2)[labels] * (1 - smoothing) + smoothing / 2) * log_p).sum(-1).mean()
    assert trainer.evaluate(ids, labels)["loss"] == pytest.approx(unweighted, rel=1e-5)


def _one_step(r_drop, dropout, strategy=None):
    """``(weights, loss_sum)`` after one SGD step of R-Drop weight ``r_drop`` on a model of ``dropout``."""
    ids, labels = _data()
    strategy = strategy or tf.distribute.get_strategy()
    model = _model(strategy, dropout=dropout)
    trainer = Trainer(model, keras.optimizers.SGD(0.5), strategy, Objective("multiclass", r_drop=r_drop),
                      batch_size=len(ids), seed=3)
    keras.utils.set_random_seed(11)  # the same dropout draws for every call
    (loss_sum, _, count), = trainer.run_steps(iter(trainer.distribute(ids, labels, np.arange(len(ids))[None])), 1)
    assert count == len(ids)
    return [np.array(w) for w in model.trainable_weights], float(loss_sum)


def test_r_drop_without_dropout_steps_as_one_pass_and_each_pass_draws_its_own_dropout():
    # Without dropout both passes give the same logits: the divergence is 0 and the step is the plain one.
    plain, plain_loss = _one_step(0.0, 0.0)
    doubled, doubled_loss = _one_step(5.0, 0.0)
    assert doubled_loss == pytest.approx(plain_loss, rel=1e-5)
    for a, b in zip(plain, doubled):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # With dropout, the same draws and a larger weight give a larger loss only if the passes differ.
    assert _one_step(100.0, 0.3)[1] > _one_step(1e-6, 0.3)[1] + 1.0


def test_r_drop_on_two_mirrored_replicas_equals_one_device():
    single, single_loss = _one_step(5.0, 0.0)
    mirrored, mirrored_loss = _one_step(5.0, 0.0, get_strategy("mirrored"))
    assert mirrored_loss == pytest.approx(single_loss, rel=1e-5)
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_batches_of_changing_width_share_one_traced_step():
    strategy = tf.distribute.get_strategy()
    model = zoo.models.build("transformer-tiny", vocab_size=50, sequence_length=40, num_classes=2, **TINY)
    ids = np.zeros((40, 40), np.int32)
    for i in range(40):
        ids[i, :i + 1] = 7  # row i has i + 1 tokens: batches of 4 rows trim to 8, 16, 24, 32 and 40 columns
    trainer = Trainer(model, keras.optimizers.SGD(0.1), strategy, Objective("multiclass"), batch_size=4)
    iterator = iter(trainer.distribute(ids, np.zeros(40, np.int32), np.arange(40).reshape(10, 4)))
    assert len(list(trainer.run_steps(iterator, 10))) == 10
    # Every width shares one graph with a free width, traced once.
    assert trainer._train_fn.experimental_get_tracing_count() == 1


def _train(strategy, ids, labels, **options):
    model = _model(strategy)
    with strategy.scope():
        optimizer = keras.optimizers.SGD(0.2, momentum=0.9)
    trainer = Trainer(model, optimizer, strategy, Objective(), batch_size=16, **options)
    batches = EpochBatches(len(ids), 16, seed=0)
    iterator = iter(trainer.distribute(ids, labels, np.concatenate([batches.indices(e) for e in range(3)])))
    losses = [float(out[0]) for out in trainer.run_steps(iterator, 3 * batches.steps)]
    return [np.array(w) for w in model.get_weights()], losses


def test_mirrored_on_two_devices_equals_one_device_for_the_same_global_batch():
    ids, labels = _data()
    mirrored = get_strategy("mirrored")
    assert mirrored.num_replicas_in_sync == 2
    single_weights, single_losses = _train(tf.distribute.get_strategy(), ids, labels, clipnorm=0.5)
    mirrored_weights, mirrored_losses = _train(mirrored, ids, labels, clipnorm=0.5)
    np.testing.assert_allclose(mirrored_losses, single_losses, rtol=1e-4)
    assert np.mean(single_losses[-4:]) < np.mean(single_losses[:4])
    for a, b in zip(single_weights, mirrored_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


class WithUnusedLayer(keras.Model):
    """Embedding -> mean -> dense, and a built dense layer the loss never reaches (its gradients are None)."""

    def __init__(self):
        super().__init__()
        self.embedding = keras.layers.Embedding(10, 4, embeddings_initializer=keras.initializers.RandomNormal(seed=0))
        self.unused = keras.layers.Dense(3, kernel_initializer=keras.initializers.GlorotUniform(seed=2))
        self.head = keras.layers.Dense(2, kernel_initializer=keras.initializers.GlorotUniform(seed=1))

    def build(self, shape):
        self.unused.build((None, 4))

    def call(self, ids):
        return self.head(keras.ops.mean(self.embedding(ids), axis=1))


def _clipped_step_with_unused_layer(strategy):
    with strategy.scope():
        model = WithUnusedLayer()
        model(np.zeros((1, 4), np.int32))
        optimizer = keras.optimizers.SGD(0.5)
    trainer = Trainer(model, optimizer, strategy, Objective(), batch_size=4, clipnorm=0.1)
    ids = np.array([[1, 2, 0, 0], [2, 3, 0, 0], [6, 7, 0, 0], [8, 9, 0, 0]], np.int32)
    iterator = iter(trainer.distribute(ids, np.array([0, 1, 0, 1]), np.arange(4)[None]))
    list(trainer.run_steps(iterator, 1))
    return [np.array(w) for w in model.get_weights()]


# Keras warns of the unused layer's missing gradients: the very case under test.
@pytest.mark.filterwarnings("ignore:Gradients do not exist:UserWarning")
def test_clipping_over_two_replicas_leaves_a_variable_without_gradient_alone():
    """The cross-replica sum before clipping failed with "None values not supported"; one device trained."""
    single = _clipped_step_with_unused_layer(tf.distribute.get_strategy())
    mirrored = _clipped_step_with_unused_layer(get_strategy("mirrored"))
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)


def _embedding_steps(strategy, halves, steps=2):
    """Plain SGD on embeddings -> Dropout(0.5) -> mean -> dense over 8 rows of 8 distinct tokens, each row
    ``halves`` times in the global batch; return the embedding rows' updates per step and the dropout state."""
    ids = np.arange(1, 65, dtype=np.int32).reshape(8, 8)
    with strategy.scope():
        model = keras.Sequential([keras.Input((None,), dtype="int32"),
                                  keras.layers.Embedding(65, 16, embeddings_initializer="ones"),
                                  Dropout(0.5, seed=1), keras.layers.GlobalAveragePooling1D(),
                                  keras.layers.Dense(2, kernel_initializer=keras.initializers.GlorotUniform(0))])
        optimizer = keras.optimizers.SGD(0.01)
    embedding, dropout = model.layers[:2]
    trainer = Trainer(model, optimizer, strategy, Objective(), batch_size=8 * halves)
    rows = np.tile(np.arange(8), halves)  # every replica gets all 8 rows
    iterator = iter(trainer.distribute(ids, np.zeros(8, np.int32), np.stack([rows] * steps)))
    updates, table = [], np.array(embedding.embeddings)
    for _ in trainer.run_steps(iterator, steps):
        new = np.array(embedding.embeddings)
        updates.append(new[1:] - table[1:])
        table = new
    states = [np.array(v) for v in strategy.experimental_local_results(dropout.seed_generator.state.value)]
    return updates, states


def test_replicas_draw_their_own_dropout_masks_and_repeat_under_the_same_seed():
    """Both replicas get the same rows: an embedding entry stays put only where every replica dropped it."""
    one = _embedding_steps(tf.distribute.get_strategy(), halves=1)
    mirrored = get_strategy("mirrored")
    two = _embedding_steps(mirrored, halves=2)
    for one_update, two_update in zip(one[0], two[0]):
        one_kept, two_kept = one_update != 0, two_update != 0
        assert abs(one_kept.mean() - 0.5) < 0.06  # 1024 entries, one Dropout(0.5) mask
        # Replica 0 draws what one device draws; replica 1 keeps half of what replica 0 dropped.
        assert two_kept[one_kept].all()
        assert abs(two_kept.mean() - 0.75) < 0.06
    # Every copy of the dropout state ends where one device's does (checkpoints do not depend on replicas).
    for state in two[1]:
        np.testing.assert_array_equal(state, one[1][0])
    np.testing.assert_array_equal(one[1][0], [1, 2])
    # The same seed repeats the mirrored run.
    again = _embedding_steps(mirrored, halves=2)
    for a, b in zip(two[0], again[0]):
        np.testing.assert_array_equal(a, b)


def test_batch_must_split_evenly_over_replicas():
    strategy = get_strategy("mirrored")
    model = _model(strategy)
    with strategy.scope():
        optimizer = keras.optimizers.SGD(0.1)
    with pytest.raises(ValueError, match="training.batch_size 15 must be divisible by the 2 replicas"):
        Trainer(model, optimizer, strategy, Objective(), batch_size=15)


def _loss_scaled_step(strategy):
    """One mixed_float16 step whose second half of the batch (replica 1's under two replicas) overflows float16."""
    table = np.full((10, 4), 0.01, np.float32)
    table[5:] = 1000.0  # tokens 5..9: the scaled gradient of the dense kernel overflows float16 (Inf)
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        with strategy.scope():
            model = keras.Sequential([
                keras.Input((None,), dtype="int32"),
                keras.layers.Embedding(10, 4, embeddings_initializer=keras.initializers.Constant(table)),
                keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2, kernel_initializer="ones")])
            optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1))
        before = [np.array(w) for w in model.get_weights()]
        trainer = Trainer(model, optimizer, strategy, Objective(), batch_size=4)
        ids = np.array([[1, 2, 0, 0], [2, 3, 0, 0], [6, 7, 0, 0], [8, 9, 0, 0]], np.int32)
        iterator = iter(trainer.distribute(ids, np.zeros(4, np.int32), np.arange(4)[None]))
        list(trainer.run_steps(iterator, 1))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    scales = [float(s) for s in strategy.experimental_local_results(optimizer.dynamic_scale.value)]
    return before, [np.array(w) for w in model.get_weights()], scales


def test_an_overflow_on_one_replica_skips_the_step_on_every_replica():
    """Keras's LossScaleOptimizer checks replica 0's gradients only: replica 1's Inf used to reach the weights."""
    for strategy in (tf.distribute.get_strategy(), get_strategy("mirrored")):
        before, after, scales = _loss_scaled_step(strategy)
        for old, new in zip(before, after):
            np.testing.assert_array_equal(new, old)  # the step is skipped, as on one device
        assert scales == [16384.0] * strategy.num_replicas_in_sync  # and the loss scale halved everywhere


def _mlm_batches(strategy, ids, steps=3):
    """Each step's masked inputs and targets, rows concatenated over the replicas, padded to 16 columns."""
    with strategy.scope():  # the model is never called: it only makes a Trainer
        model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(50, 4)])
        optimizer = keras.optimizers.SGD(0.1)
    trainer = Trainer(model, optimizer, strategy, TokenObjective("mlm", 50), batch_size=8, seed=0)
    iterator = iter(trainer.distribute(ids, None, EpochBatches(len(ids), 8, seed=0).indices(0)[:steps]))
    pad = lambda t: np.pad(np.asarray(t), [(0, 0), (0, 16 - t.shape[1])])  # noqa: E731
    steps_seen = []
    for _ in range(steps):
        inputs, targets = next(iterator)
        parts = [strategy.experimental_local_results(value) for value in
                 (inputs["token_ids"], inputs["mask_positions"], targets)]
        steps_seen.append([np.concatenate([pad(t) for t in replicas]) for replicas in parts])
    return steps_seen


def test_mlm_masks_a_global_batch_split_over_two_replicas_as_one_device_does():
    """The masks were drawn per replica batch: two replicas predicted other tokens than one device."""
    rng = np.random.default_rng(0)
    ids = rng.integers(10, 50, size=(32, 16)).astype(np.int32)
    for row, length in enumerate(rng.integers(4, 17, size=32)):  # rows of many lengths: replicas trim differently
        ids[row, 0], ids[row, length - 1], ids[row, length:] = 2, 3, 0
    one = _mlm_batches(tf.distribute.get_strategy(), ids)
    two = _mlm_batches(get_strategy("mirrored"), ids)
    for one_step, two_step in zip(one, two):
        assert one_step[2].any()  # tokens to predict
        for a, b in zip(one_step, two_step):
            np.testing.assert_array_equal(b, a)


def test_evaluators_of_successive_runs_do_not_warn_of_retracing(caplog):
    from zoo.training.objectives import TokenObjective

    # zoo cv: a new model and Evaluator per fold, each tracing a few sequence lengths
    for _ in range(3):
        lm = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(50, 8),
                               keras.layers.Dense(50)])
        evaluate = loop.Evaluator(lm, TokenObjective("lm", 50))
        for length in (5, 7, 9):
            evaluate(np.full((2, length), 3, dtype=np.int64))
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
