"""Classification metrics over predicted probabilities, computed with scikit-learn."""
import numpy as np
from sklearn import metrics as skm

DEFAULT_TOP_K = (2, 3, 5)
# A multi-label class is predicted when its probability is at least this; the serving graph labels by it too.
MULTILABEL_THRESHOLD = 0.5
# How far a single-label row of probabilities may sum from 1: float32 softmax rows miss it by a few ulps, while
# scores that are not a distribution (independent sigmoids, a zero row) miss it by far more.
ROW_SUM_TOLERANCE = 1e-3
# A multi-label model's "accuracy" is one of two numbers, and every line and report names which: training's
# (history, metrics.json, early stopping's val_accuracy) is per-label, the fraction of (example, label) decisions
# right (1 - Hamming loss); zoo evaluate's and zoo cv's (classification_metrics) is subset accuracy, the fraction
# of examples with every label right.
PER_LABEL_ACCURACY = "per-label accuracy"
SUBSET_ACCURACY = "subset accuracy"


class MetricsInputError(ValueError):
    """Labels or probabilities given to a metric function are malformed."""


def check_inputs(y_true, probabilities, label_names, *, multilabel=False):
    """Validate and convert labels and probabilities to numpy arrays.

    Args:
        y_true: class ids ``[N]``, or a multi-hot matrix ``[N, C]`` when ``multilabel``.
        probabilities: ``[N, C]`` class probabilities (a binary ``[N]`` or ``[N, 1]`` positive-class
            probability is widened to ``[N, 2]``).
        label_names: the ``C`` class names, in id order.
        multilabel: whether each example may carry several labels.

    Returns:
        ``(y_true, probabilities)`` as ``int64`` and ``float64`` arrays.

    Example:
        >>> y, p = check_inputs([0, 1], [0.2, 0.9], ["neg", "pos"])
        >>> p.shape
        (2, 2)
    """
    names = list(label_names)
    probs = np.asarray(probabilities, dtype=np.float64)
    if not multilabel and len(names) == 2 and (probs.ndim == 1 or (probs.ndim == 2 and probs.shape[1] == 1)):
        positive = probs.reshape(-1)
        probs = np.stack([1.0 - positive, positive], axis=1)
    if probs.ndim != 2 or probs.shape[1] != len(names):
        raise MetricsInputError(
            f"probabilities must have shape [N, {len(names)}] for {len(names)} labels {names}; got {probs.shape}"
        )
    if probs.shape[0] == 0:
        raise MetricsInputError("cannot compute metrics on zero examples")
    if not np.all(np.isfinite(probs)) or probs.min() < 0.0 or probs.max() > 1.0 + 1e-6:
        raise MetricsInputError("probabilities must be finite and within [0, 1]")
    if not multilabel:
        if len(names) < 2:
            raise MetricsInputError(f"single-label metrics need at least 2 labels; got {names}")
        # log-loss and top-k would renormalise such rows, and ROC-AUC read their raw second column: numbers of
        # a distribution the model never gave.
        sums = probs.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOLERANCE)
        if bad.size:
            raise MetricsInputError(
                f"probabilities of row {int(bad[0])} sum to {sums[bad[0]]:.6g}, not 1 ({bad.size} such rows in "
                "total): pass one distribution over the labels per example (softmax outputs), or multilabel=True "
                "for independent per-label probabilities"
            )
    y = np.asarray(y_true)
    expected = (probs.shape[0], len(names)) if multilabel else (probs.shape[0],)
    if y.shape != expected:
        raise MetricsInputError(f"labels must have shape {list(expected)}; got {list(y.shape)}")
    if y.size and not np.issubdtype(y.dtype, np.integer) and not np.issubdtype(y.dtype, np.bool_):
        raise MetricsInputError(f"labels must be integer class ids, got dtype {y.dtype}")
    y = y.astype(np.int64)
    low, high = (0, 1) if multilabel else (0, len(names) - 1)
    bad = np.flatnonzero((y < low) | (y > high)) if not multilabel else np.flatnonzero(((y < 0) | (y > 1)).any(1))
    if bad.size:
        raise MetricsInputError(
            f"label at index {int(bad[0])} is outside [{low}, {high}] ({bad.size} such labels in total)"
        )
    return y, probs


def check_threshold(threshold, label_names, *, multilabel=False):
    """Raise ``MetricsInputError`` unless ``threshold`` can decide a model's labels; ``None`` (the default rule)
    always can.

    A threshold decides a two-class model's label (the second class when its probability reaches it, else the
    first) or each label of a multi-label model (every label whose probability reaches it).

    Example:
        >>> check_threshold(0.3, ["ham", "spam"])
        >>> check_threshold(0.3, ["a", "b", "c"])
        Traceback (most recent call last):
        ...
        zoo.evaluation.metrics.MetricsInputError: threshold (--threshold) decides between two classes, or each \
label of a multi-label model; this model has 3 classes (a, b, c) and predicts the most probable
    """
    if threshold is None:
        return
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)) or not 0 < threshold < 1:
        raise MetricsInputError(f"threshold (--threshold) must be a number strictly between 0 and 1 (0 < T < 1), "
                                f"got {threshold!r}")
    if not multilabel and len(label_names) != 2:
        raise MetricsInputError(f"threshold (--threshold) decides between two classes, or each label of a "
                                f"multi-label model; this model has {len(label_names)} classes "
                                f"({', '.join(map(str, label_names))}) and predicts the most probable")


def decision_rule(label_names, threshold, mode="multiclass"):
    """``", <label> from probability T"`` (``", each label from ..."`` for ``mode="multilabel"``) when a
    classifier decides by ``threshold``; ``""`` for the default rule (``threshold`` None).

    Example:
        >>> decision_rule(["ham", "spam"], 0.3)
        ', spam from probability 0.3'
    """
    if threshold is None:
        return ""
    return f", {'each label' if mode == 'multilabel' else label_names[1]} from probability {threshold:g}"


def accuracy_name(metrics):
    """How to name the ``accuracy`` of ``classification_metrics``: ``subset accuracy`` for a multi-label model.

    Example:
        >>> accuracy_name({"multilabel": True})
        'subset accuracy'
    """
    return SUBSET_ACCURACY if metrics["multilabel"] else "accuracy"


def predicted_ids(probabilities, *, multilabel=False, threshold=None):
    """Return the predicted class ids: argmax per row, or a multi-hot matrix over the threshold.

    Args:
        probabilities: ``[N, C]`` class probabilities.
        multilabel: threshold each class independently instead of taking the argmax.
        threshold: multi-label: the decision threshold (default ``MULTILABEL_THRESHOLD``); two classes: the
            second class's probability from which it is predicted (default: the most probable class).

    Example:
        >>> predicted_ids(np.array([[0.3, 0.7], [0.8, 0.2]])).tolist()
        [1, 0]
        >>> predicted_ids(np.array([[0.3, 0.7], [0.8, 0.2]]), threshold=0.2).tolist()
        [1, 1]
    """
    probs = np.asarray(probabilities)
    if multilabel:
        return (probs >= (MULTILABEL_THRESHOLD if threshold is None else threshold)).astype(np.int64)
    if threshold is not None:
        return (probs[:, 1] >= threshold).astype(np.int64)
    return probs.argmax(axis=-1).astype(np.int64)


def best_f1_threshold(y_true, positive):
    """The threshold on the second class's probability that gives its best F1 on these examples, with the
    precision, recall and F1 there (scikit-learn's precision-recall curve).

    Args:
        y_true: ``[N]`` class ids, 0 or 1, both present.
        positive: ``[N]`` the second class's probabilities.

    Example:
        >>> best_f1_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        {'threshold': 0.35, 'precision': 0.666..., 'recall': 1.0, 'f1': 0.8}
    """
    precision, recall, thresholds = skm.precision_recall_curve(y_true, positive)
    # The last (precision 1, recall 0) point has no threshold.
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], np.finfo(float).tiny)
    best = int(np.argmax(f1))
    return {"threshold": float(thresholds[best]), "precision": float(precision[best]),
            "recall": float(recall[best]), "f1": float(f1[best])}


def _prf(y_true, y_pred, labels, average):
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=average, zero_division=0
    )
    return precision, recall, f1, support


def classification_metrics(y_true, probabilities, label_names, *, multilabel=False, top_k=None, threshold=None):
    """Compute the standard classification metrics of one set of predictions.

    Accuracy (subset accuracy for multi-label), precision / recall / F1 per class (``None`` for a class
    neither in ``y_true`` nor predicted) and micro and weighted averages over the other classes, macro averages over
    the classes in ``y_true`` (``support`` above 0; an absent class's F1 would count as 0), the
    confusion matrix, log-loss, ROC-AUC and average precision (the area under the precision-recall curve, which
    an imbalanced set such as SMS spam reads better; binary: of class 1, multi-label: macro over the classes;
    ``None`` where undefined, ``roc_auc_undefined`` says why) and top-k accuracy (when there are more than two
    classes). Two classes add ``best_f1_threshold``: the threshold giving the second class's best F1 here
    (``best_f1_threshold``). Every number comes from scikit-learn.

    Args:
        y_true: class ids ``[N]``, or a multi-hot matrix ``[N, C]`` when ``multilabel``.
        probabilities: ``[N, C]`` predicted probabilities.
        label_names: the ``C`` class names, in id order.
        multilabel: whether each example may carry several labels.
        top_k: the ``k`` values for top-k accuracy; defaults to those of 2, 3, 5 below ``C``.
        threshold: the decision threshold (``predicted_ids``; ``check_threshold`` says where one applies),
            recorded as ``threshold`` when set (multi-label: always).

    Returns:
        A JSON-serialisable dict (see the keys in the example).

    Example:
        >>> m = classification_metrics([0, 1, 1], [[0.8, 0.2], [0.4, 0.6], [0.7, 0.3]], ["neg", "pos"])
        >>> sorted(m)[:4]
        ['accuracy', 'average_precision', 'averages', 'best_f1_threshold']
    """
    names = [str(n) for n in label_names]
    y, probs = check_inputs(y_true, probabilities, names, multilabel=multilabel)
    check_threshold(threshold, names, multilabel=multilabel)
    ids = list(range(len(names)))
    y_pred = predicted_ids(probs, multilabel=multilabel, threshold=threshold)

    precision, recall, f1, support = _prf(y, y_pred, ids, None)
    # A class neither in the labels nor predicted has no precision, recall or F1 (None), and the averages leave
    # it out, as scikit-learn's do by default: a 0 for it would pull macro F1 down on a test set lacking a class.
    truth, predicted = (y, y_pred) if multilabel else (np.eye(len(ids), dtype=np.int64)[a] for a in (y, y_pred))
    seen = [j for j in ids if truth[:, j].any() or predicted[:, j].any()]
    # (Multi-label examples without any label, none predicted: no class is seen; the averages stay 0, not NaN.)
    averaged = seen or ids
    per_class = [
        {"label": names[j], "precision": float(precision[j]) if j in seen else None,
         "recall": float(recall[j]) if j in seen else None, "f1": float(f1[j]) if j in seen else None,
         "support": int(support[j])}
        for j in ids
    ]
    # Macro averages weigh each class alike, so they are over the classes present in the labels (scikit-learn's
    # labels=): a class the data lack would add its 0 (zero_division) and halve a one-class set's macro F1. Its
    # wrong predictions still count, as misses of the true classes. Micro and weighted averages are unchanged by it.
    present = [j for j in ids if truth[:, j].any()]
    averages = {}
    for average in ("macro", "micro", "weighted"):
        p, r, f, _ = _prf(y, y_pred, (present or averaged) if average == "macro" else averaged, average)
        averages[average] = {"precision": float(p), "recall": float(r), "f1": float(f)}

    result = {
        "num_examples": int(probs.shape[0]),
        "label_names": names,
        "multilabel": bool(multilabel),
        "accuracy": float(skm.accuracy_score(y, y_pred)),
        "per_class": per_class,
        "averages": averages,
    }
    if multilabel:
        result["hamming_loss"] = float(skm.hamming_loss(y, y_pred))
        result["threshold"] = float(MULTILABEL_THRESHOLD if threshold is None else threshold)
        result["log_loss"] = float(
            np.mean([skm.log_loss(y[:, j], probs[:, j], labels=[0, 1]) for j in ids])
        )
        result["confusion_matrix"] = skm.multilabel_confusion_matrix(y, y_pred, labels=ids).tolist()
        scorable = [j for j in ids if 0 < y[:, j].sum() < len(y)]
        result["roc_auc"] = (
            float(skm.roc_auc_score(y[:, scorable], probs[:, scorable], average="macro")) if scorable else None
        )
        result["average_precision"] = (
            float(skm.average_precision_score(y[:, scorable], probs[:, scorable], average="macro")) if scorable
            else None
        )
        result["top_k_accuracy"] = {}
        return result

    # float32 softmax rows can miss 1.0 by an ulp; scikit-learn wants them to sum to one.
    normalised = probs / probs.sum(axis=1, keepdims=True)
    result["log_loss"] = float(skm.log_loss(y, normalised, labels=ids))
    result["confusion_matrix"] = skm.confusion_matrix(y, y_pred, labels=ids).tolist()
    scorable = len(ids) == 2 and len(np.unique(y)) == 2
    result["roc_auc"] = float(skm.roc_auc_score(y, probs[:, 1])) if scorable else None
    result["average_precision"] = float(skm.average_precision_score(y, probs[:, 1])) if scorable else None
    if threshold is not None:
        result["threshold"] = float(threshold)
    if scorable:
        result["best_f1_threshold"] = best_f1_threshold(y, probs[:, 1])
    ks = [k for k in (DEFAULT_TOP_K if top_k is None else top_k) if k < len(ids)] if len(ids) > 2 else []
    result["top_k_accuracy"] = {
        str(k): float(skm.top_k_accuracy_score(y, normalised, k=k, labels=ids)) for k in ks
    }
    return result


def absent_classes(metrics):
    """The classes of ``classification_metrics`` without an example in the labels, which its macro averages leave
    out (none present at all: none left out).

    Example:
        >>> absent_classes(classification_metrics([1, 1], [[0.4, 0.6], [0.7, 0.3]], ["neg", "pos"]))
        ['neg']
    """
    rows = metrics["per_class"]
    return [row["label"] for row in rows if not row["support"]] if any(row["support"] for row in rows) else []


def roc_auc_undefined(metrics):
    """Why ``classification_metrics`` has no ROC-AUC (nor average precision), or ``None`` where it has one.

    Example:
        >>> roc_auc_undefined(classification_metrics([1, 1], [[0.4, 0.6], [0.7, 0.3]], ["neg", "pos"]))
        'only pos is in the labels; ROC-AUC needs examples of both classes'
    """
    if metrics.get("roc_auc") is not None:
        return None
    if metrics["multilabel"]:
        return "no label has both examples with it and examples without it, which ROC-AUC needs"
    if len(metrics["label_names"]) != 2:
        return f"computed for two classes only; this model has {len(metrics['label_names'])}"
    present = [row["label"] for row in metrics["per_class"] if row["support"]]
    return f"only {present[0]} is in the labels; ROC-AUC needs examples of both classes"


def confident_mistakes(texts, y_true, probabilities, label_names, *, limit=20, threshold=None):
    """List the misclassified examples the model was most sure about, most confident first.

    Args:
        texts: the ``N`` input texts.
        y_true: ``[N]`` true class ids.
        probabilities: ``[N, C]`` predicted probabilities.
        label_names: class names in id order.
        limit: how many mistakes to return at most.
        threshold: a two-class model's decision threshold (``predicted_ids``).

    Returns:
        A list of dicts with ``index``, ``text``, ``true``, ``predicted`` and ``confidence`` (the predicted class's
        probability).

    Example:
        >>> confident_mistakes(["bad", "good"], [0, 1], [[0.1, 0.9], [0.2, 0.8]], ["neg", "pos"])[0]["text"]
        'bad'
    """
    # A negative limit would slice from the end: -1 silently left out the last mistake.
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
        raise MetricsInputError(f"limit (how many mistakes to list; zoo evaluate --mistakes) must be an integer "
                                f">= 0, got {limit!r}")
    names = [str(n) for n in label_names]
    y, probs = check_inputs(y_true, probabilities, names)
    texts = list(texts)
    if len(texts) != len(y):
        raise MetricsInputError(f"got {len(texts)} texts for {len(y)} labels")
    check_threshold(threshold, names)
    y_pred = predicted_ids(probs, threshold=threshold)
    confidence = probs[np.arange(len(y)), y_pred]
    wrong = np.flatnonzero(y_pred != y)
    order = wrong[np.argsort(-confidence[wrong], kind="stable")][:limit]
    return [
        {
            "index": int(i),
            "text": texts[i],
            "true": names[y[i]],
            "predicted": names[y_pred[i]],
            "confidence": float(confidence[i]),
            "true_probability": float(probs[i, y[i]]),
        }
        for i in order
    ]
