"""PNG plots for evaluation reports and attention maps, drawn with matplotlib's Agg canvas."""
import contextlib
import contextvars
import logging
import re
import warnings
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

# Figures are built on an explicit Agg canvas rather than through pyplot, so plotting never
# switches a notebook's backend nor leaks figures into pyplot's global registry.
_ANNOTATE_MAX_CLASSES = 20
_DPI = 110
# Up to this many epochs each gets its own x tick; a longer history gets integer ticks matplotlib spaces.
_MAX_EPOCH_TICKS = 12
# Label names and words longer than this are cut with "…" on the axes: uncut, a long one squeezed the axes to
# nothing (constrained layout gave up) and every name ran off the figure, only its last characters showing.
TICK_LABEL_WIDTH = 24
# matplotlib's own fonts (DejaVu) hold no CJK or emoji glyphs; it warns once per character its font lacks (a box):
# "Glyph 26085 (\N{CJK UNIFIED IDEOGRAPH-65E5}) missing from font(s) DejaVu Sans.".
_MISSING_GLYPH = re.compile(r"Glyph (\d+) .*missing from font")
# The labels collected by ``undrawn_labels_reported`` while it is open; None: each plot reports its own.
_UNDRAWN = contextvars.ContextVar("undrawn_labels", default=None)

log = logging.getLogger(__name__)


def _ticks(texts):
    return [t if len(t) <= TICK_LABEL_WIDTH else t[:TICK_LABEL_WIDTH - 1] + "…" for t in map(str, texts)]


def _figure(width, height):
    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Label names, tokens and words are plain text, not mathtext: "$0-$50" would be drawn as math, "a$^$b" fail.
    for text in fig.findobj(Text):
        text.set_parse_math(False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(path, format="png")
    missing = set()
    for warning in caught:
        match = _MISSING_GLYPH.match(str(warning.message))
        if match:
            missing.add(chr(int(match.group(1))))
        else:  # not ours to word: passed on as matplotlib gave it
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    undrawn = [text.get_text() for text in fig.findobj(Text) if missing & set(text.get_text())]
    collected = _UNDRAWN.get()
    if collected is None:
        _report_undrawn(undrawn, f"in {path}")
    else:
        collected.extend(undrawn)
    return path


def _report_undrawn(labels, where):
    """Warn, in one line, that ``labels`` hold characters the plots' font lacks, drawn as boxes ``where``."""
    labels = list(dict.fromkeys(labels))
    if labels:
        log.warning("warning: %d label%s hold%s characters the plot font has no glyph for (%s), drawn as boxes %s",
                    len(labels), "s" if len(labels) > 1 else "", "" if len(labels) > 1 else "s", ", ".join(labels),
                    where)


@contextlib.contextmanager
def undrawn_labels_reported(where):
    """Report once, on leaving, the labels whose characters the font lacks in all plots saved within (each plot
    otherwise warns of its own); ``where`` ends the warning (which plots, where the labels can be read).

    Example:
        >>> with undrawn_labels_reported("in the heat-maps; explanation.json has them as written"):
        ...     _ = plot_token_importance(["映画", "film"], [0.5, 0.5], "importance.png")
    """
    collected = []
    token = _UNDRAWN.set(collected)
    try:
        yield
    finally:
        _UNDRAWN.reset(token)
    _report_undrawn(collected, where)


def plot_confusion_matrix(matrix, label_names, path, *, title="Confusion matrix"):
    """Draw a confusion matrix (rows: true label, columns: predicted) coloured by row share.

    Args:
        matrix: ``[C, C]`` counts.
        label_names: the ``C`` class names.
        path: where to write the PNG.
        title: the figure title.

    Returns:
        The PNG path.

    Example:
        >>> plot_confusion_matrix([[5, 1], [2, 7]], ["neg", "pos"], "cm.png")
        PosixPath('cm.png')
    """
    counts = np.asarray(matrix, dtype=np.int64)
    names = [str(n) for n in label_names]
    n = len(names)
    if counts.shape != (n, n):
        raise ValueError(f"confusion matrix must be [{n}, {n}] for labels {names}; got {list(counts.shape)}")
    row_share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    side = min(3.0 + 0.45 * n, 16.0)
    fig = _figure(side + 1.0, side)
    ax = fig.add_subplot()
    image = ax.imshow(row_share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, label="share of true label")
    ax.set_xticks(range(n), _ticks(names), rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center")
    ax.set_yticks(range(n), _ticks(names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if n <= _ANNOTATE_MAX_CLASSES:
        for i in range(n):
            for j in range(n):
                colour = "white" if row_share[i, j] > 0.5 else "black"
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", color=colour, fontsize=8)
    return _save(fig, path)


def _history_columns(history):
    """``{metric: (epochs, values)}``: epochs from the history's ``epoch`` field, else numbered from 1."""
    if isinstance(history, dict):
        history = [{key: values[i] for key, values in history.items() if i < len(values)}
                   for i in range(max(map(len, history.values()), default=0))]
    columns = {}
    for number, row in enumerate(history, start=1):
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)):
                epochs, values = columns.setdefault(key, ([], []))
                epochs.append(int(row.get("epoch", number)))
                values.append(float(value))
    return columns


def plot_training_curves(history, path, *, title="Training curves"):
    """Draw one panel per metric of a training history, training and validation together.

    Args:
        history: ``{"loss": [...], "val_loss": [...], ...}`` (Keras ``History.history``) or a list
            of per-epoch dicts.
        path: where to write the PNG.
        title: the figure title.

    Returns:
        The PNG path.

    Example:
        >>> plot_training_curves({"loss": [0.7, 0.5], "val_loss": [0.72, 0.6]}, "curves.png")
        PosixPath('curves.png')
    """
    columns = _history_columns(history)
    bases = sorted({k[4:] if k.startswith("val_") else k for k in columns}, key=lambda b: (b != "loss", b))
    if not bases:
        raise ValueError("training history has no metric columns to plot")
    epochs = sorted({epoch for numbers, _ in columns.values() for epoch in numbers})
    fig = _figure(4.2 * len(bases), 3.4)
    axes = fig.subplots(1, len(bases), squeeze=False)[0]
    for ax, base in zip(axes, bases):
        for key, style in ((base, "-o"), ("val_" + base, "--s")):
            if key in columns:
                ax.plot(*columns[key], style, markersize=3, label=key)
        ax.set_xlabel("epoch")
        # Explicit ticks: over a range under a few epochs (one epoch: 0.95 to 1.05) the locator picks fractions.
        if len(epochs) <= _MAX_EPOCH_TICKS:
            ax.set_xticks(epochs)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(base)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return _save(fig, path)


def plot_roc_curve(y_true, scores, path, *, positive_label="positive", title="ROC curve"):
    """Draw the ROC curve of a binary classifier with its AUC.

    Args:
        y_true: ``[N]`` 0/1 labels.
        scores: ``[N]`` predicted probability of the positive class.
        path: where to write the PNG.
        positive_label: name of class 1, for the legend.
        title: the figure title.

    Returns:
        The PNG path.

    Example:
        >>> plot_roc_curve([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.4], "roc.png")
        PosixPath('roc.png')
    """
    fpr, tpr, _ = roc_curve(y_true, scores)
    auc = roc_auc_score(y_true, scores)
    fig = _figure(4.5, 4.2)
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, label=f"{positive_label} (AUC = {auc:.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_precision_recall_curve(y_true, scores, path, *, positive_label="positive", title="Precision-recall curve"):
    """Draw the precision-recall curve of a binary classifier with its average precision, against the share of
    positives that a classifier without skill reaches.

    Args:
        y_true: ``[N]`` 0/1 labels.
        scores: ``[N]`` predicted probability of the positive class.
        path: where to write the PNG.
        positive_label: name of class 1, whose precision and recall are drawn.
        title: the figure title.

    Returns:
        The PNG path.

    Example:
        >>> plot_precision_recall_curve([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.4], "pr.png")
        PosixPath('pr.png')
    """
    precision, recall, _ = precision_recall_curve(y_true, scores)
    average = average_precision_score(y_true, scores)
    fig = _figure(4.5, 4.2)
    ax = fig.add_subplot()
    # A step plot: average precision sums the precision over recall steps, not a straight line between points.
    ax.step(recall, precision, where="post", label=f"{positive_label} (AP = {average:.3f})")
    ax.axhline(float(np.mean(y_true)), linestyle=":", color="grey", label="chance")
    ax.set_xlabel(f"recall of {positive_label}")
    ax.set_ylabel(f"precision of {positive_label}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="lower left")
    return _save(fig, path)


def plot_attention_heads(weights, tokens, path, *, title="Attention"):
    """Draw one heat-map per head of a layer's attention weights over the real tokens.

    Args:
        weights: ``[heads, n, n]`` attention probabilities (rows: queries, columns: keys).
        tokens: the ``n`` token strings.
        path: where to write the PNG.
        title: the figure title.

    Returns:
        The PNG path.

    Example:
        >>> plot_attention_heads(np.full((2, 3, 3), 1 / 3), ["a", "b", "c"], "layer0.png")
        PosixPath('layer0.png')
    """
    weights = np.asarray(weights)
    heads, n = weights.shape[0], len(tokens)
    if weights.ndim != 3 or weights.shape[1:] != (n, n):
        raise ValueError(f"attention weights must be [heads, {n}, {n}] for {n} tokens; got {list(weights.shape)}")
    cols = min(heads, 4)
    rows = -(-heads // cols)
    cell = min(max(2.5, 0.28 * n), 7.0)
    fig = _figure(cell * cols + 1.0, cell * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    image = None
    # one colour scale per layer, up to its strongest weight: faint patterns stay visible
    top = max(float(weights.max()), 1e-6)
    for h, ax in enumerate(axes.flat):
        if h >= heads:
            ax.axis("off")
            continue
        image = ax.imshow(weights[h], cmap="viridis", vmin=0.0, vmax=top)
        ax.set_title(f"head {h}", fontsize=9)
        fontsize = 7 if n <= 40 else 4
        ax.set_xticks(range(n), _ticks(tokens), rotation=90, fontsize=fontsize)
        ax.set_yticks(range(n), _ticks(tokens), fontsize=fontsize)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8)
    fig.suptitle(title)
    return _save(fig, path)


def plot_token_importance(tokens, importance, path, *, markers=None, title="Token importance (attention rollout)"):
    """Draw a bar chart of per-token importance scores.

    Args:
        tokens: the ``n`` token strings.
        importance: ``[n]`` scores.
        path: where to write the PNG.
        markers: ``[n]`` booleans, true for the tokenizer's ``[CLS]`` / ``[SEP]`` markers: drawn grey, with the
            axis scaled to the text's tokens (BERT's attention gathers on the markers, whose bars would flatten
            the words' to nothing); a marker's bar above the axis is cut and labelled with its value.
        title: the figure title.

    Returns:
        The PNG path.

    Example:
        >>> plot_token_importance(["a", "b"], [0.3, 0.7], "importance.png")
        PosixPath('importance.png')
    """
    values = np.asarray(importance, dtype=np.float64)
    if values.shape != (len(tokens),):
        raise ValueError(f"importance must have one score per token ({len(tokens)}); got {list(values.shape)}")
    markers = np.zeros(len(tokens), bool) if markers is None else np.asarray(markers, bool)
    fig = _figure(min(max(4.0, 0.35 * len(tokens) + 1.5), 20.0), 3.2)
    ax = fig.add_subplot()
    ax.bar(range(len(tokens)), values, color=np.where(markers, "tab:gray", "tab:orange"))
    words = values[~markers]
    if markers.any() and words.size and words.max() > 0:
        top = 1.25 * words.max()
        ax.set_ylim(0, top)
        for i in np.flatnonzero(markers & (values > top)):
            ax.text(i, 0.97 * top, f"{values[i]:.2f}", ha="center", va="top", fontsize=7, color="white")
    ax.set_xticks(range(len(tokens)), _ticks(tokens), rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("importance")
    ax.set_title(title)
    return _save(fig, path)
