"""What a training step optimises, per task: how a batch becomes model inputs and targets, the loss, the metrics.

Every objective offers the same four methods, so ``Trainer`` runs one loop for every task:

- ``prepare(features, labels, seed)``: a gathered batch -> ``(model inputs, targets)``, inside ``tf.data``
  (padding trimmed, next-token shift, BERT masking with a stateless ``seed``).
- ``loss(targets, logits)``: the loss of every example, ``[B]``; a step minimises its mean over the global batch.
- ``sums(targets, logits, per_example)``: ``(loss_sum, correct_sum, count)`` for the reported metrics: per
  example for classification, per predicted token for the token tasks (so ``loss_sum / count`` is the mean
  negative log-likelihood per token and ``exp`` of it the perplexity).
- ``lengths(features)``: tokens per example (numpy), to bucket batches and order evaluation.
"""
import math

import numpy as np
import tensorflow as tf

from zoo.data.lm_targets import mask_tokens
from zoo.data.special_tokens import LEARNED_IDS
from zoo.evaluation.metrics import MULTILABEL_THRESHOLD
from zoo.layers.heads import MODES

TOKEN_TASKS = ("lm", "mlm", "seq2seq")


def trim_padding(ids, pad_id=LEARNED_IDS.pad, multiple=8):
    """Cut the trailing all-padding columns of a ``[B, T]`` batch, keeping a multiple of ``multiple``.

    Padding (``pad_id``) is masked everywhere in zoo models, so dropping it changes no result but saves the
    compute; rounding up to a multiple of 8 bounds the number of shapes a compiled step sees.
    """
    longest = tf.reduce_max(tf.reduce_sum(tf.cast(ids != pad_id, tf.int32), axis=1))
    keep = tf.minimum(tf.maximum((longest + multiple - 1) // multiple * multiple, multiple), tf.shape(ids)[1])
    return ids[:, :keep]


class Objective:
    """Classification: per-example loss and accuracy for a ``mode``, with label smoothing.

    ``multiclass``: integer labels ``[B]`` against ``C`` logits (softmax cross-entropy; smoothing moves
    ``label_smoothing`` of the probability mass uniformly over the ``C`` classes). ``binary``: 0/1 labels
    against one logit. ``multilabel``: multi-hot ``[B, C]`` against ``C`` independent logits (mean over
    labels). Binary and multilabel smoothing pulls targets towards 0.5 as Keras does.

    Args:
        mode: ``multiclass``, ``binary`` or ``multilabel``.
        label_smoothing: In ``[0, 1)``.
        pad_id: The tokenizer's padding id.
        trim: Cut batches to their longest row; ``False`` for a model whose output reads padded positions (the
            CNN's max-over-time pooling: ``masks_padding`` false), which is served at its full length.
        class_weights: Per-class weights of the training loss, or ``None``.
        r_drop: R-Drop's weight of the two passes' divergence (``r_drop_loss``); 0 trains one pass a step.

    Example:
        >>> Objective("multiclass").loss(tf.constant([1]), tf.constant([[0.0, 0.0]])).numpy().round(4)
        array([0.6931], dtype=float32)
    """

    token_level = False

    def __init__(self, mode="multiclass", label_smoothing=0.0, pad_id=LEARNED_IDS.pad, trim=True, class_weights=None,
                 r_drop=0.0):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not 0 <= r_drop < math.inf:
            raise ValueError(f"r_drop must be a number >= 0, got {r_drop!r}")
        if class_weights is not None and mode == "multilabel":
            raise ValueError("class weights weigh an example by its class; a multi-label example has several")
        self.mode = mode
        self.label_smoothing = float(label_smoothing)
        self.pad_id = int(pad_id)
        self.trim = bool(trim)
        self.class_weights = None if class_weights is None else tf.constant(class_weights, tf.float32)
        self.r_drop = float(r_drop)

    def prepare(self, features, labels, seed=None, rows=None):
        """Return ``(inputs cut to their longest row, labels)`` (uncut without ``trim``).

        ``features`` are ids ``[B, T]``, or ``{"token_ids", "segment_ids"}`` for a model with segments (BERT,
        sentence pairs): both are cut to the width of the longest row of ``token_ids``. ``seed`` and ``rows``
        are unused: classification has no random targets.
        """
        if not self.trim:
            return features, labels
        if not isinstance(features, dict):
            return trim_padding(features, self.pad_id), labels
        width = tf.shape(trim_padding(features["token_ids"], self.pad_id))[1]
        return {key: value[:, :width] for key, value in features.items()}, labels

    def loss(self, labels, logits):
        """Return the float32 loss of every example, ``[B]``."""
        logits = tf.cast(logits, tf.float32)
        s = self.label_smoothing
        if self.mode == "multiclass":
            classes = tf.shape(logits)[-1]
            targets = tf.one_hot(tf.cast(labels, tf.int32), classes)
            if s:
                targets = targets * (1.0 - s) + s / tf.cast(classes, tf.float32)
            return -tf.reduce_sum(targets * tf.nn.log_softmax(logits), axis=-1)
        targets = tf.cast(tf.reshape(labels, tf.shape(logits)), tf.float32)
        targets = targets * (1.0 - s) + 0.5 * s
        per_label = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
        return tf.reduce_mean(per_label, axis=-1)

    def training_loss(self, labels, logits):
        """``loss`` of every example times its class's weight (``class_weights``): what training minimises.
        Validation and test scores use ``loss``, unweighted, so that they measure the model, not the weights."""
        loss = self.loss(labels, logits)
        if self.class_weights is None:
            return loss
        return loss * tf.gather(self.class_weights, tf.cast(tf.reshape(labels, [-1]), tf.int32))

    def r_drop_loss(self, labels, logits, other):
        """R-Drop's training loss of every example: the mean of ``training_loss`` over two passes' ``logits`` and
        ``other`` (the same batch, other dropout), plus ``r_drop`` times the symmetric KL divergence of their
        predictions, ½(KL(p‖q) + KL(q‖p)): over the classes for ``multiclass``, per label (two-outcome
        distributions) and averaged over the labels otherwise.

        Example:
            >>> Objective(r_drop=1.0).r_drop_loss(tf.constant([0]), tf.constant([[0.0, 0.0]]),
            ...                                   tf.constant([[0.0, 0.0]])).numpy().round(4)
            array([0.6931], dtype=float32)
        """
        logits, other = tf.cast(logits, tf.float32), tf.cast(other, tf.float32)
        if self.mode == "multiclass":
            log_p, log_q = tf.nn.log_softmax(logits), tf.nn.log_softmax(other)
            # KL(p‖q) + KL(q‖p) = Σ (p - q)(log p - log q)
            divergence = tf.reduce_sum((tf.exp(log_p) - tf.exp(log_q)) * (log_p - log_q), axis=-1)
        else:  # for two outcomes Σ (p - q)(log p - log q) is (p - q) times the difference of the logits
            divergence = tf.reduce_mean((tf.sigmoid(logits) - tf.sigmoid(other)) * (logits - other), axis=-1)
        mean = 0.5 * (self.training_loss(labels, logits) + self.training_loss(labels, other))
        return mean + self.r_drop * 0.5 * divergence

    def correct(self, labels, logits):
        """Return each example's accuracy, ``[B]``: 0/1, or the fraction of right labels (multilabel)."""
        logits = tf.cast(logits, tf.float32)
        if self.mode == "multiclass":
            return tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), tf.cast(labels, tf.int32)),
                           tf.float32)
        targets = tf.cast(tf.reshape(labels, tf.shape(logits)), tf.float32)
        # Decided on the probabilities, as serving and zoo evaluate decide: a logit within float32 rounding of 0
        # has probability 0.5 exactly, which multilabel takes and binary's argmax of [1 - p, p] does not.
        probabilities = tf.sigmoid(logits)
        chosen = probabilities >= MULTILABEL_THRESHOLD if self.mode == "multilabel" else probabilities > 0.5
        hits = tf.cast(tf.equal(tf.cast(chosen, tf.float32), targets), tf.float32)
        return tf.reduce_mean(hits, axis=-1)

    def sums(self, labels, logits, per_example):
        """Return ``(loss_sum, correct_sum, examples)`` of a batch."""
        return (tf.reduce_sum(per_example), tf.reduce_sum(self.correct(labels, logits)),
                tf.cast(tf.shape(per_example)[0], tf.float32))

    def lengths(self, features):
        """Return the tokens of every example."""
        ids = features["token_ids"] if isinstance(features, dict) else features
        return (np.asarray(ids) != self.pad_id).sum(axis=1)


def perplexity(mean_loss):
    """A token model's perplexity, ``exp`` of its mean negative log-likelihood per token.

    Args:
        mean_loss: the mean natural-log loss per predicted token.

    Returns:
        A float; ``inf`` past float64's range (a diverged model), where ``math.exp`` raises.

    Example:
        >>> perplexity(0.0), perplexity(1e4)
        (1.0, inf)
    """
    try:
        return math.exp(mean_loss)
    except OverflowError:
        return math.inf


class TokenObjective:
    """Token prediction for ``lm`` (next token), ``mlm`` (masked tokens) and ``seq2seq`` (next target token).

    Features per task: ``lm``: ``[N, T + 1]`` ids that start with ``[CLS]`` (begin) and end with ``[SEP]``
    (end) before the padding; the model reads ``ids[:, :-1]`` and predicts ``ids[:, 1:]``. ``mlm``: ``[N, T]``
    ids; BERT masking (``zoo.data.mask_tokens``: 15% chosen, 80/10/10) draws new masks every step from a
    stateless seed for each global batch, so a resumed run masks exactly as an uninterrupted one, whatever the
    replica count of either (see ``prepare``); the model reads the corrupted ids
    and the chosen positions and predicts the original tokens there. ``seq2seq``: ``{"source": [N, S],
    "target": [N, T + 1]}``, the target framed like an ``lm`` sequence; the decoder reads ``target[:, :-1]``.
    Begin, end, padding and mask ids are the tokenizer's ``special_ids``; a target equal to the padding id
    marks a position that is not predicted.

    The training loss of an example is the mean cross-entropy over its predicted tokens, with label smoothing
    spread uniformly over the vocabulary; the reported loss (``sums``) is the unsmoothed negative
    log-likelihood per token, so ``exp`` of it is the perplexity.

    Args:
        task: ``lm``, ``mlm`` or ``seq2seq``.
        vocab_size: Tokenizer vocabulary size (random replacements of ``mlm`` are drawn from it).
        label_smoothing: In ``[0, 1)``.
        mask_rate: Fraction of tokens ``mlm`` predicts.
        special_ids: The tokenizer's ``special_ids``.

    Example:
        >>> TokenObjective("lm", vocab_size=100).prepare(tf.constant([[2, 7, 9, 3, 0]]), None)[1].numpy()
        array([[7, 9, 3, 0]], dtype=int32)
    """

    token_level = True
    r_drop = 0.0  # one pass per step (R-Drop is a classifier's, ``Objective.r_drop_loss``)

    def __init__(self, task, vocab_size, label_smoothing=0.0, mask_rate=0.15, special_ids=LEARNED_IDS):
        if task not in TOKEN_TASKS:
            raise ValueError(f"task must be one of {', '.join(TOKEN_TASKS)}, got {task!r}")
        self.task = task
        self.vocab_size = int(vocab_size)
        self.label_smoothing = float(label_smoothing)
        self.mask_rate = float(mask_rate)
        self.special_ids = special_ids
        self.pad_id = special_ids.pad

    def prepare(self, features, labels=None, seed=None, rows=None):
        """Return ``(model inputs, target ids)``; ``seed`` (shape ``[2]``) drives ``mlm`` masking.

        ``rows``: ``(first, total)`` when the batch is rows ``first`` to ``first + B - 1`` of a global batch of
        ``total`` rows split over replicas; ``mlm`` draws the masks of the whole global batch at the full
        width and keeps these rows, so a split batch is masked as one device masks it. ``None``: the batch
        is the whole global batch.
        """
        if self.task == "seq2seq":
            decoder_ids, targets = self._shift(features["target"])
            return {"encoder_ids": trim_padding(features["source"], self.pad_id), "decoder_ids": decoder_ids}, targets
        if self.task == "lm":
            return self._shift(features)
        ids = tf.convert_to_tensor(features)
        seed = tf.zeros([2], tf.int64) if seed is None else seed
        size = tf.shape(ids)[0]
        first, total = (0, size) if rows is None else (tf.cast(rows[0], tf.int32), tf.cast(rows[1], tf.int32))
        # Padding rows stand in for the other replicas' examples: the random draws depend only on the seed and
        # the global batch's shape. Padding is never chosen, so trimming after masking changes nothing.
        whole = tf.pad(ids, [[first, total - first - size], [0, 0]], constant_values=tf.cast(self.pad_id, ids.dtype))
        masked = mask_tokens(whole, seed, vocab_size=self.vocab_size, rate=self.mask_rate,
                             special_ids=self.special_ids)
        trimmed = tf.shape(trim_padding(ids, self.pad_id))[1]
        inputs, original, chosen = (t[first:first + size, :trimmed] for t in masked)
        where = tf.where(chosen > 0)
        positions = tf.RaggedTensor.from_value_rowids(tf.cast(where[:, 1], tf.int32), where[:, 0],
                                                      nrows=tf.shape(ids, out_type=tf.int64)[0])
        # Rounded up to a multiple of 8, like the trimmed length, to bound the shapes a step is traced for.
        width = tf.maximum((tf.reduce_max(positions.row_lengths()) + 7) // 8 * 8, 8)
        dense = positions.to_tensor(default_value=0)
        dense = tf.pad(dense, [[0, 0], [0, tf.cast(width, tf.int32) - tf.shape(dense)[1]]])
        valid = tf.sequence_mask(positions.row_lengths(), width)
        targets = tf.where(valid, tf.gather(original, dense, batch_dims=1), tf.fill(tf.shape(dense), self.pad_id))
        return {"token_ids": inputs, "mask_positions": dense}, targets

    def _shift(self, ids):
        """``(inputs, next-token targets)`` of framed ``[B, T + 1]`` ids, both cut to the inputs' trimmed width."""
        inputs = trim_padding(ids[:, :-1], self.pad_id)
        return inputs, ids[:, 1:tf.shape(inputs)[1] + 1]

    def _token_losses(self, targets, logits):
        logits = tf.cast(logits, tf.float32)
        targets = tf.cast(targets, tf.int32)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        weights = tf.cast(targets != self.pad_id, tf.float32)
        return nll, weights, logits

    def loss(self, targets, logits):
        """Return each example's mean loss over its predicted tokens, ``[B]`` (0 for an example without any)."""
        nll, weights, logits = self._token_losses(targets, logits)
        s = self.label_smoothing
        if s:
            uniform = -tf.reduce_mean(tf.nn.log_softmax(logits), axis=-1)
            nll = (1.0 - s) * nll + s * uniform
        return tf.reduce_sum(nll * weights, axis=1) / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)

    def training_loss(self, targets, logits):
        """What training minimises: ``loss`` (token tasks have no class weights)."""
        return self.loss(targets, logits)

    def sums(self, targets, logits, per_example):
        """Return ``(negative log-likelihood sum, correctly predicted tokens, predicted tokens)``."""
        nll, weights, logits = self._token_losses(targets, logits)
        hits = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), tf.cast(targets, tf.int32)),
                       tf.float32)
        return tf.reduce_sum(nll * weights), tf.reduce_sum(hits * weights), tf.reduce_sum(weights)

    def lengths(self, features):
        """Return the tokens of every example (of the source, for seq2seq)."""
        main = features["source"] if self.task == "seq2seq" else features
        return (np.asarray(main) != self.pad_id).sum(axis=1)


def class_weights(setting, labels, label_names):
    """The per-class loss weights of ``training.class_weight``, in label-id order; ``None`` for none.

    Args:
        setting: ``None``, ``"balanced"`` (``n / (classes * count)``, scikit-learn's ``compute_class_weight``) or
            ``{label: weight}`` (unlisted classes 1).
        labels: The training split's label ids ``[N]``.
        label_names: The class names in id order.

    Example:
        >>> class_weights("balanced", np.array([0, 0, 0, 1]), ["ham", "spam"])
        array([0.66666667, 2.        ])
    """
    if setting is None:
        return None
    if setting == "balanced":
        from sklearn.utils.class_weight import compute_class_weight

        return compute_class_weight("balanced", classes=np.arange(len(label_names)), y=labels)
    given = {str(label): float(weight) for label, weight in setting.items()}  # YAML reads a label 1 as an int
    unknown = [label for label in given if label not in label_names]
    if unknown:
        raise ValueError(f"class_weight.{unknown[0]}: no such class; the classes are "
                         f"{', '.join(map(str, label_names))}")
    return np.array([given.get(str(name), 1.0) for name in label_names], np.float64)


def objective_for(task, *, mode="multiclass", vocab_size=None, label_smoothing=0.0, special_ids=LEARNED_IDS,
                  trim=True, class_weights=None, r_drop=0.0):
    """Return the objective of a registry task (``zoo.models.task_of``).

    Args:
        task: ``classification``, ``lm``, ``mlm`` or ``seq2seq``.
        mode: The classifier's mode.
        vocab_size: The tokenizer's vocabulary size (token tasks).
        label_smoothing: In ``[0, 1)``.
        special_ids: The tokenizer's ``special_ids``.
        trim: Whether classification batches are cut to their longest row (the model's ``masks_padding``).
        class_weights: A classifier's per-class weights of the training loss (``class_weights``), or ``None``.
        r_drop: A classifier's R-Drop weight (``Objective.r_drop_loss``); 0 trains one pass. Token tasks train one
            pass (``zoo.training.run.check_class_weight`` refuses the key for them).

    Example:
        >>> objective_for("lm", vocab_size=8000).token_level
        True
    """
    if task == "classification":
        return Objective(mode, label_smoothing, pad_id=special_ids.pad, trim=trim, class_weights=class_weights,
                         r_drop=r_drop)
    return TokenObjective(task, vocab_size, label_smoothing, special_ids=special_ids)
