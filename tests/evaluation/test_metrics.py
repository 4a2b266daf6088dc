"""Metric numbers against independent numpy computations."""
import numpy as np
import pytest

from zoo.evaluation.metrics import (MetricsInputError, absent_classes, check_threshold, classification_metrics,
                                    confident_mistakes, roc_auc_undefined)


def _random_predictions(n, c, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c)) * 2.0
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    # labels correlated with predictions so every metric is far from trivial
    y = np.where(rng.random(n) < 0.6, probs.argmax(1), rng.integers(0, c, n))
    return y, probs.astype(np.float32)


def _numpy_prf(y, pred, c):
    rows = []
    for k in range(c):
        tp = np.sum((pred == k) & (y == k))
        fp = np.sum((pred == k) & (y != k))
        fn = np.sum((pred != k) & (y == k))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        rows.append((p, r, f, np.sum(y == k)))
    return np.array(rows, dtype=np.float64)


def test_multiclass_metrics_match_numpy():
    c = 6
    y, probs = _random_predictions(400, c, seed=0)
    names = [f"class{k}" for k in range(c)]
    m = classification_metrics(y, probs, names)
    pred = probs.argmax(1)

    assert m["accuracy"] == pytest.approx(np.mean(pred == y))
    ref = _numpy_prf(y, pred, c)
    got = np.array([[r["precision"], r["recall"], r["f1"], r["support"]] for r in m["per_class"]])
    np.testing.assert_allclose(got, ref, atol=1e-12)
    assert [r["label"] for r in m["per_class"]] == names

    assert m["averages"]["macro"]["f1"] == pytest.approx(ref[:, 2].mean())
    assert m["averages"]["weighted"]["recall"] == pytest.approx(np.average(ref[:, 1], weights=ref[:, 3]))
    # single-label micro precision/recall/F1 all equal accuracy
    for key in ("precision", "recall", "f1"):
        assert m["averages"]["micro"][key] == pytest.approx(m["accuracy"])

    cm = np.zeros((c, c), dtype=int)
    np.add.at(cm, (y, pred), 1)
    assert m["confusion_matrix"] == cm.tolist()

    p64 = probs.astype(np.float64) / probs.astype(np.float64).sum(1, keepdims=True)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log(p64[np.arange(len(y)), y])), rel=1e-6)

    top = np.argsort(-probs, axis=1)
    assert set(m["top_k_accuracy"]) == {"2", "3", "5"}
    for k in (2, 3, 5):
        assert m["top_k_accuracy"][str(k)] == pytest.approx(np.mean([y[i] in top[i, :k] for i in range(len(y))]))
    assert m["roc_auc"] is None


def _average_precision(y, scores):
    """The mean over positives of the precision among the examples scored at least as high (no ties here)."""
    order = np.argsort(-np.asarray(scores))
    hits = np.asarray(y)[order]
    return np.mean([hits[:i + 1].mean() for i in np.flatnonzero(hits)])


def test_average_precision_is_the_mean_precision_at_each_positive():
    # An imbalanced set (SMS spam: 13 % spam) reads better as precision-recall than as ROC.
    m = classification_metrics([1, 0, 1, 0, 0], [0.9, 0.8, 0.3, 0.2, 0.1], ["ham", "spam"])
    assert m["average_precision"] == pytest.approx((1 + 2 / 3) / 2)
    y, probs = _random_predictions(300, 2, seed=1)
    assert classification_metrics(y, probs, ["neg", "pos"])["average_precision"] == pytest.approx(
        _average_precision(y, probs[:, 1]))
    assert classification_metrics([1, 1], [[0.2, 0.8], [0.6, 0.4]], ["neg", "pos"])["average_precision"] is None
    rng = np.random.default_rng(4)
    probs = rng.random((120, 3))
    y = (rng.random((120, 3)) < probs).astype(int)
    y[:, 2] = 0  # no positive: no average precision of its own, so the macro mean leaves it out
    m = classification_metrics(y, probs, list("abc"), multilabel=True)
    assert m["average_precision"] == pytest.approx(np.mean([_average_precision(y[:, j], probs[:, j]) for j in (0, 1)]))


def test_binary_roc_auc_equals_mann_whitney_statistic():
    y, probs = _random_predictions(300, 2, seed=1)
    m = classification_metrics(y, probs, ["neg", "pos"])
    pos, neg = probs[y == 1, 1], probs[y == 0, 1]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert m["roc_auc"] == pytest.approx(greater / (len(pos) * len(neg)))
    assert m["top_k_accuracy"] == {}
    # a positive-class probability vector is accepted for binary tasks and gives the same numbers
    again = classification_metrics(y, probs[:, 1], ["neg", "pos"])
    assert again["roc_auc"] == pytest.approx(m["roc_auc"])
    assert again["accuracy"] == pytest.approx(m["accuracy"])


def test_multilabel_metrics_match_numpy():
    rng = np.random.default_rng(2)
    probs = rng.random((200, 4))
    y = (rng.random((200, 4)) < np.clip(probs + 0.2 * rng.normal(size=probs.shape), 0, 1)).astype(int)
    m = classification_metrics(y, probs, list("abcd"), multilabel=True)
    pred = (probs >= 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(np.mean((pred == y).all(1)))
    assert m["hamming_loss"] == pytest.approx(np.mean(pred != y))
    tp = (pred & y).sum()
    assert m["averages"]["micro"]["precision"] == pytest.approx(tp / pred.sum())
    assert m["averages"]["micro"]["recall"] == pytest.approx(tp / y.sum())
    ref = -np.mean(y * np.log(probs) + (1 - y) * np.log(1 - probs), axis=0).mean()
    assert m["log_loss"] == pytest.approx(ref, rel=1e-6)


def test_confident_mistakes_are_wrong_and_sorted():
    y, probs = _random_predictions(100, 3, seed=3)
    texts = [f"text {i}" for i in range(100)]
    mistakes = confident_mistakes(texts, y, probs, ["a", "b", "c"], limit=5)
    pred = probs.argmax(1)
    wrong = np.flatnonzero(pred != y)
    expected = wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")][:5]
    assert [m["index"] for m in mistakes] == expected.tolist()
    for m in mistakes:
        assert m["text"] == texts[m["index"]] and m["true"] != m["predicted"]
        assert m["true_probability"] == pytest.approx(probs[m["index"], "abc".index(m["true"])])


def test_a_negative_or_fractional_mistake_limit_is_refused():
    # limit=-1 sliced from the end: every mistake but the last was listed, without a word
    args = (["a", "b", "c"], [0, 0, 0], [[0.1, 0.9], [0.2, 0.8], [0.3, 0.7]], ["neg", "pos"])
    assert len(confident_mistakes(*args, limit=0)) == 0 and len(confident_mistakes(*args, limit=5)) == 3
    for limit in (-1, 2.5, True):
        with pytest.raises(MetricsInputError, match=rf"limit \(how many mistakes to list; zoo evaluate --mistakes\) "
                                                    rf"must be an integer >= 0, got {limit!r}"):
            confident_mistakes(*args, limit=limit)


@pytest.mark.parametrize(
    "y, probs, match",
    [
        ([0, 1], [[0.5, 0.5, 0.0]] * 2, r"shape \[N, 2\]"),
        ([0, 2], [[0.5, 0.5]] * 2, "index 1 is outside"),
        ([0], [[0.5, 0.5]] * 2, "labels must have shape"),
        ([], np.zeros((0, 2)), "zero examples"),
        ([0, 1], [[np.nan, 0.5], [0.5, 0.5]], "finite"),
        ([0.5, 1.0], [[0.5, 0.5]] * 2, "integer class ids"),
    ],
)
def test_bad_inputs_raise_clear_errors(y, probs, match):
    with pytest.raises(MetricsInputError, match=match):
        classification_metrics(y, probs, ["neg", "pos"])


def test_rows_that_are_not_distributions_are_refused_naming_the_row():
    # Independent sigmoid scores passed without multilabel=True were renormalised into another log-loss, and
    # ROC-AUC read their raw second column; a zero row was scikit-learn's bare "Input contains NaN".
    with pytest.raises(MetricsInputError, match=r"row 0 sum to 1.8, not 1 \(1 such rows in total\).*multilabel=True"):
        classification_metrics([0, 1], [[0.9, 0.9], [0.1, 0.9]], ["neg", "pos"])
    with pytest.raises(MetricsInputError, match=r"row 1 sum to 0, not 1"):
        classification_metrics([0, 1], [[0.2, 0.8], [0.0, 0.0]], ["neg", "pos"])
    with pytest.raises(MetricsInputError, match=r"at least 2 labels; got \['only'\]"):
        classification_metrics([0, 0], [[1.0], [1.0]], ["only"])
    # float32 softmax rows, a few ulps off 1, and the same scores as multi-label probabilities are accepted
    logits = np.random.default_rng(0).normal(size=(50, 7)).astype(np.float32)
    softmax = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert classification_metrics(np.arange(50) % 7, softmax, list("abcdefg"))["num_examples"] == 50
    assert classification_metrics([[1, 1], [0, 1]], [[0.9, 0.9], [0.1, 0.9]], ["a", "b"], multilabel=True)[
        "accuracy"] == 1.0


def test_a_class_absent_from_labels_and_predictions_is_left_out_of_the_averages():
    from sklearn import metrics as skm

    # perfect predictions on a test set that lacks class "c": every average is 1, as scikit-learn's default says
    y, probs = [0, 1, 0, 1], [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.8, 0.1, 0.1], [0.2, 0.7, 0.1]]
    m = classification_metrics(y, probs, ["a", "b", "c"])
    assert skm.f1_score(y, [0, 1, 0, 1], average="macro") == 1.0
    assert m["averages"]["macro"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert m["per_class"][2] == {"label": "c", "precision": None, "recall": None, "f1": None, "support": 0}
    # a class true but never predicted counts (as 0); one predicted but never true counts in the micro and weighted
    # averages, and in the macro ones as the misses of the true classes, not as a class of its own at 0
    y, pred = [0, 1, 1, 1, 3], [0, 1, 1, 2, 0]
    m = classification_metrics(y, np.eye(4)[pred], list("abcd"))
    for average in ("micro", "weighted"):
        assert m["averages"][average]["f1"] == pytest.approx(skm.f1_score(y, pred, average=average, zero_division=0))
    assert m["averages"]["macro"]["f1"] == pytest.approx(
        skm.f1_score(y, pred, labels=[0, 1, 3], average="macro", zero_division=0)) == pytest.approx((2 / 3 + 0.8) / 3)
    assert [r["f1"] for r in m["per_class"]] == pytest.approx([2 / 3, 0.8, 0.0, 0.0])
    # multi-label: a label column no example has and none is predicted is left out the same way
    y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    m = classification_metrics(y, np.where(y, 0.9, 0.1), list("abc"), multilabel=True)
    assert m["averages"]["macro"]["f1"] == 1.0 and m["per_class"][2]["f1"] is None


def _mann_whitney_auc(y, scores):
    pos, neg = scores[y == 1], scores[y == 0]
    return ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))


@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_multilabel_roc_auc_confusion_and_threshold_match_numpy(threshold):
    rng = np.random.default_rng(4)
    probs = rng.random((120, 4))
    probs[::7] = threshold  # a probability at the threshold is a prediction ("at least this")
    y = (rng.random((120, 4)) < probs).astype(int)
    y[:, 3] = 0  # a label no example has: no ROC-AUC of its own, so the mean leaves it out
    m = classification_metrics(y, probs, list("abcd"), multilabel=True, threshold=threshold)
    pred = (probs >= threshold).astype(int)
    assert m["threshold"] == threshold
    assert m["accuracy"] == pytest.approx(np.mean((pred == y).all(1)))
    assert m["hamming_loss"] == pytest.approx(np.mean(pred != y))
    # one [[tn, fp], [fn, tp]] per label, rows true and columns predicted as in the single-label matrix
    cm = [[[np.sum((y[:, j] == t) & (pred[:, j] == p)) for p in (0, 1)] for t in (0, 1)] for j in range(4)]
    assert m["confusion_matrix"] == cm
    assert m["roc_auc"] == pytest.approx(np.mean([_mann_whitney_auc(y[:, j], probs[:, j]) for j in range(3)]))


def test_top_k_accuracy_is_reported_only_for_k_below_the_number_of_classes():
    y, probs = _random_predictions(60, 3, seed=5)
    assert set(classification_metrics(y, probs, list("abc"))["top_k_accuracy"]) == {"2"}
    top = np.argsort(-probs, axis=1)
    got = classification_metrics(y, probs, list("abc"), top_k=(1, 2, 3))["top_k_accuracy"]
    assert got == pytest.approx({str(k): np.mean([y[i] in top[i, :k] for i in range(60)]) for k in (1, 2)})


def test_a_two_class_threshold_decides_the_second_class_from_that_probability():
    y, probs = _random_predictions(300, 2, seed=6)
    probs[::9, 1] = 0.3  # a probability at the threshold is a prediction ("at least this")
    probs[::9, 0] = 0.7
    m = classification_metrics(y, probs, ["ham", "spam"], threshold=0.3)
    pred = (probs[:, 1] >= 0.3).astype(int)
    assert m["threshold"] == 0.3
    assert m["accuracy"] == pytest.approx(np.mean(pred == y))
    assert m["confusion_matrix"] == [[int(np.sum((y == t) & (pred == q))) for q in (0, 1)] for t in (0, 1)]
    assert [r["recall"] for r in m["per_class"]] == pytest.approx(_numpy_prf(y, pred, 2)[:, 1])
    # ROC-AUC and average precision are of the scores, whatever decides the labels.
    assert m["roc_auc"] == pytest.approx(classification_metrics(y, probs, ["ham", "spam"])["roc_auc"])
    assert "threshold" not in classification_metrics(y, probs, ["ham", "spam"])
    texts = [f"text {i}" for i in range(300)]
    mistakes = confident_mistakes(texts, y, probs, ["ham", "spam"], limit=300, threshold=0.3)
    assert sorted(row["index"] for row in mistakes) == np.flatnonzero(pred != y).tolist()
    assert all(row["confidence"] == pytest.approx(probs[row["index"], pred[row["index"]]]) for row in mistakes)


def test_the_best_f1_threshold_is_the_best_of_every_cut_of_the_scores():
    y, probs = _random_predictions(300, 2, seed=7)
    best = classification_metrics(y, probs, ["ham", "spam"])["best_f1_threshold"]
    cuts = {float(t): _numpy_prf(y, (probs[:, 1] >= t).astype(int), 2)[1, :3] for t in np.unique(probs[:, 1])}
    top = max(cuts, key=lambda t: cuts[t][2])
    assert best == pytest.approx({"threshold": top, "precision": cuts[top][0], "recall": cuts[top][1],
                                  "f1": cuts[top][2]})
    assert classification_metrics(y, probs, ["ham", "spam"], threshold=best["threshold"])["per_class"][1][
        "f1"] == pytest.approx(best["f1"])
    # One class only: no curve, no threshold; more than two classes: none either.
    assert "best_f1_threshold" not in classification_metrics([1, 1], [[0.2, 0.8], [0.6, 0.4]], ["neg", "pos"])
    assert "best_f1_threshold" not in classification_metrics(*_random_predictions(30, 3, seed=1), list("abc"))


@pytest.mark.parametrize("threshold, names, match", [
    (0.3, ["a", "b", "c"], r"^threshold \(--threshold\) decides between two classes, or each label of a multi-label "
                           r"model; this model has 3 classes \(a, b, c\) and predicts the most probable$"),
    (1.0, ["ham", "spam"], r"^threshold \(--threshold\) must be a number strictly between 0 and 1 \(0 < T < 1\), "
                           r"got 1.0$"),
    (0, ["ham", "spam"], "got 0$"),
    (True, ["ham", "spam"], "got True$"),
    ("0.5", ["ham", "spam"], "got '0.5'$"),
])
def test_a_threshold_that_cannot_decide_is_refused(threshold, names, match):
    with pytest.raises(MetricsInputError, match=match):
        check_threshold(threshold, names)
    with pytest.raises(MetricsInputError, match=match):
        classification_metrics([0, 1, 1], np.eye(len(names))[[0, 1, 1]] * 0.8 + 0.2 / len(names), names,
                               threshold=threshold)


def test_one_class_present_is_macro_averaged_alone_and_has_no_roc_auc_with_the_reason():
    from sklearn import metrics as skm

    # every example pos, a quarter predicted neg: neg's F1 (0, zero_division) would halve macro F1
    y, pred = [1] * 8, [1] * 6 + [0] * 2
    m = classification_metrics(y, np.eye(2)[pred] * 0.8 + 0.1, ["neg", "pos"])
    assert m["averages"]["macro"]["f1"] == pytest.approx(skm.f1_score(y, pred, labels=[1], average="macro"))
    assert m["averages"]["macro"]["f1"] == pytest.approx(6 / 7)
    assert absent_classes(m) == ["neg"] and m["roc_auc"] is None
    assert roc_auc_undefined(m) == "only pos is in the labels; ROC-AUC needs examples of both classes"
    three = classification_metrics([0, 1, 2], np.eye(3), list("abc"))
    assert absent_classes(three) == [] and roc_auc_undefined(three) == "computed for two classes only; this model has 3"
