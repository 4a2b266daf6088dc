"""Evaluation reports: ``report.json`` for machines, ``report.md`` for people, PNG plots beside them.

A report owns the files its ``report.json`` lists under ``files``: writing a report into a folder that holds an
earlier one first removes those (so no plot of the earlier evaluation is left beside the new report), and
nothing else in the folder.
"""
import json
from pathlib import Path

import numpy as np

from zoo.evaluation import plots
from zoo.evaluation.metrics import (PER_LABEL_ACCURACY, absent_classes, accuracy_name, decision_rule,
                                    roc_auc_undefined)
from zoo.paths import output_errors

REPORT_DIR = "evaluation"  # a run's reports go to <run_dir>/evaluation unless told otherwise
OUT_DIR_FIX = "set out_dir (--out) to a directory you can write"
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
CONFUSION_PNG = "confusion_matrix.png"
CURVES_PNG = "training_curves.png"
ROC_PNG = "roc_curve.png"
PR_PNG = "precision_recall_curve.png"
SHOWN_EXAMPLES = 10
# Every file a report may write; an earlier report's listed files are removed only when they are among these.
REPORT_FILES = (REPORT_JSON, REPORT_MD, CONFUSION_PNG, CURVES_PNG, ROC_PNG, PR_PNG)


def read_history(run_dir):
    """Return a run directory's ``history.json`` records, or ``None`` when it has none."""
    path = Path(run_dir) / "history.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def earlier_output(path):
    """Return the JSON object an earlier report or explanation left at ``path``, or ``{}``.

    ``{}`` also for a file zoo did not write (not JSON, or not an object): which files it owns is not known,
    so a caller removes none of them.

    Args:
        path: The earlier output's ``report.json`` or ``explanation.json``.

    Example:
        >>> earlier_output(Path("no-report.json"))
        {}
    """
    try:
        earlier = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        return {}
    return earlier if isinstance(earlier, dict) else {}


def _replace_report(out):
    """Create ``out``, and remove the files of an earlier report in it (those its ``report.json`` lists)."""
    out.mkdir(parents=True, exist_ok=True)
    files = earlier_output(out / REPORT_JSON).get("files")
    for name in files.values() if isinstance(files, dict) else ():
        if name in REPORT_FILES:
            (out / name).unlink(missing_ok=True)


def write_report(out_dir, metrics, *, history=None, mistakes=None, y_true=None, probabilities=None, info=None):
    """Write ``report.json``, ``report.md`` and the plots that the inputs allow into ``out_dir``.

    Args:
        out_dir: directory to write into (created if missing); an earlier report's files in it are replaced.
        metrics: the dict from :func:`zoo.evaluation.metrics.classification_metrics`.
        history: training history (``{"loss": [...], ...}``) for the training-curves plot.
        mistakes: the list from :func:`zoo.evaluation.metrics.confident_mistakes`.
        y_true: ``[N]`` true ids, with ``probabilities``, for the ROC and precision-recall plots of a binary task.
        probabilities: ``[N, 2]`` predicted probabilities for those plots.
        info: extra facts to record at the top (run directory, data source, split, ...).

    Returns:
        The report dict as written to ``report.json``, with ``files`` naming what was written.

    Example:
        >>> m = zoo.evaluation.classification_metrics([0, 1], [[0.9, 0.1], [0.3, 0.7]], ["neg", "pos"])
        >>> write_report("eval", m)["files"]
        {'json': 'report.json', 'markdown': 'report.md', 'confusion_matrix': 'confusion_matrix.png'}
    """
    out = Path(out_dir)
    with output_errors(out, OUT_DIR_FIX):
        _replace_report(out)
        files = {"json": REPORT_JSON, "markdown": REPORT_MD}
        if not metrics["multilabel"]:
            plots.plot_confusion_matrix(metrics["confusion_matrix"], metrics["label_names"], out / CONFUSION_PNG)
            files["confusion_matrix"] = CONFUSION_PNG
        if history:
            plots.plot_training_curves(history, out / CURVES_PNG)
            files["training_curves"] = CURVES_PNG
        if y_true is not None and probabilities is not None and metrics.get("roc_auc") is not None:
            if not metrics["multilabel"]:
                scores, positive = np.asarray(probabilities)[:, 1], metrics["label_names"][1]
                plots.plot_roc_curve(np.asarray(y_true), scores, out / ROC_PNG, positive_label=positive)
                plots.plot_precision_recall_curve(np.asarray(y_true), scores, out / PR_PNG, positive_label=positive)
                files["roc_curve"] = ROC_PNG
                files["precision_recall_curve"] = PR_PNG
        report = {"info": dict(info or {}), "metrics": metrics, "confident_mistakes": list(mistakes or []),
                  "files": files}
        (out / REPORT_JSON).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (out / REPORT_MD).write_text(render_markdown(report), encoding="utf-8")
    return report


def _fmt(value):
    return "–" if value is None else f"{value:.4f}"


def _why(reason):
    """`` (reason)`` after a number shown as –, or nothing."""
    return f" ({_cell(reason)})" if reason else ""


def _cell(text, width=160):
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def render_markdown(report):
    """Render a report dict (as written to ``report.json``) as Markdown.

    Args:
        report: the dict returned by :func:`write_report`.

    Returns:
        The Markdown text.

    Example:
        >>> m = zoo.evaluation.classification_metrics([0, 1], [[0.9, 0.1], [0.3, 0.7]], ["neg", "pos"])
        >>> render_markdown({"metrics": m}).splitlines()[:6]
        ['# Evaluation report', '', '- **examples**: 2', '- **accuracy**: 1.0000', '- **log-loss**: 0.2310',
         '- **ROC-AUC**: 1.0000']
    """
    m = report["metrics"]
    lines = ["# Evaluation report", ""]
    for key, value in report.get("info", {}).items():
        lines.append(f"- **{key}**: {value}")
    lines += [
        f"- **examples**: {m['num_examples']}",
        f"- **{accuracy_name(m)}**: {_fmt(m['accuracy'])}",
        f"- **log-loss**: {_fmt(m['log_loss'])}",
        f"- **ROC-AUC**: {_fmt(m.get('roc_auc'))}{_why(roc_auc_undefined(m))}",
    ]
    if m.get("average_precision") is not None:
        of = "macro over the classes" if m["multilabel"] else f"of {m['label_names'][1]}"
        lines.append(f"- **average precision ({_cell(of)})**: {_fmt(m['average_precision'])}")
    best = m.get("best_f1_threshold")
    if best:
        lines.append(f"- **best F1 of {_cell(m['label_names'][1])}**: {_fmt(best['f1'])} at threshold "
                     f"{best['threshold']:.4g} (precision {_fmt(best['precision'])}, recall {_fmt(best['recall'])})")
    for k, value in m.get("top_k_accuracy", {}).items():
        lines.append(f"- **top-{k} accuracy**: {_fmt(value)}")
    if m.get("threshold") is not None:
        rule = decision_rule([_cell(name) for name in m["label_names"]], m["threshold"],
                             "multilabel" if m["multilabel"] else "multiclass")
        lines.append(f"- **decision threshold**: {rule.removeprefix(', ')}")
    if m["multilabel"]:
        lines.append(f"- **Hamming loss**: {_fmt(m['hamming_loss'])} ({PER_LABEL_ACCURACY} "
                     f"{_fmt(1 - m['hamming_loss'])}, as training reports accuracy)")
    lines += ["", "## Per class", "", "| label | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for row in m["per_class"]:
        lines.append(
            f"| {_cell(row['label'])} | {_fmt(row['precision'])} | {_fmt(row['recall'])} | {_fmt(row['f1'])} "
            f"| {row['support']} |"
        )
    for name, avg in m["averages"].items():
        lines.append(f"| *{name} avg* | {_fmt(avg['precision'])} | {_fmt(avg['recall'])} | {_fmt(avg['f1'])} | |")
    absent = absent_classes(m)
    if absent:
        present = [row["label"] for row in m["per_class"] if row["support"]]
        lines += ["", f"The macro averages are over the classes in the labels ({_cell(', '.join(present))}): "
                      f"{_cell(', '.join(absent))} had no example, and would count as F1 0 (scikit-learn's "
                      "zero_division); predictions of them count as misses of the true classes."]
    if not m["multilabel"]:
        names = [_cell(n, plots.TICK_LABEL_WIDTH) for n in m["label_names"]]
        lines += ["", "## Confusion matrix (rows: true, columns: predicted)", ""]
        lines += ["| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for name, row in zip(names, m["confusion_matrix"]):
            lines.append(f"| **{name}** | " + " | ".join(str(v) for v in row) + " |")
    mistakes = report.get("confident_mistakes") or []
    if mistakes:
        lines += ["", "## Most confident mistakes", ""]
        lines += ["| confidence | true | predicted | text |", "|---:|---|---|---|"]
        for row in mistakes:
            lines.append(
                f"| {row['confidence']:.3f} | {_cell(row['true'])} | {_cell(row['predicted'])} | {_cell(row['text'])} |"
            )
    pictures = [(k, v) for k, v in report.get("files", {}).items() if v.endswith(".png")]
    if pictures:
        lines += ["", "## Plots", ""]
        lines += [f"![{k.replace('_', ' ')}]({v})" for k, v in pictures]
    return "\n".join(lines) + "\n"


def write_generation_report(out_dir, metrics, examples, *, info=None, history=None):
    """Write ``report.json`` and ``report.md`` of a token-task evaluation (and training curves) into ``out_dir``.

    Args:
        out_dir: directory to write into (created if missing); an earlier report's files in it are replaced.
        metrics: perplexity metrics (``loss``, ``accuracy``, ``perplexity``, ``tokens``), plus ``bleu``,
            ``rouge1``, ``rouge2``, ``rougeL`` and ``exact_match`` when the model generated text.
        examples: every generated example, ``{"index", "input", "reference", "hypothesis"}``; the Markdown
            shows the first ``SHOWN_EXAMPLES``.
        info: facts for the header (run, data, task, and ``generation`` settings and counts).
        history: training history for the training-curves plot.

    Returns:
        The report dict as written to ``report.json``: ``info``, ``metrics``, ``examples``, ``files``.

    Example:
        >>> metrics = {"loss": 1.2, "accuracy": 0.6, "perplexity": 3.3, "tokens": 90}
        >>> write_generation_report("eval", metrics, [], info={"task": "lm"})["files"]
        {'json': 'report.json', 'markdown': 'report.md'}
    """
    out = Path(out_dir)
    with output_errors(out, OUT_DIR_FIX):
        _replace_report(out)
        files = {"json": REPORT_JSON, "markdown": REPORT_MD}
        if history:
            plots.plot_training_curves(history, out / CURVES_PNG)
            files["training_curves"] = CURVES_PNG
        report = {"info": dict(info or {}), "metrics": dict(metrics), "examples": list(examples), "files": files}
        (out / REPORT_JSON).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (out / REPORT_MD).write_text(render_generation_markdown(report), encoding="utf-8")
    return report


def render_generation_markdown(report):
    """Render a token-task report dict (``write_generation_report``) as Markdown.

    Args:
        report: the dict returned by :func:`write_generation_report`.

    Returns:
        The Markdown text.

    Example:
        >>> metrics = {"loss": 1.2, "accuracy": 0.6, "perplexity": 3.3, "tokens": 90}
        >>> print(render_generation_markdown({"info": {"task": "lm"}, "metrics": metrics}))
        # Evaluation report
        <BLANKLINE>
        - **task**: lm
        <BLANKLINE>
        ## Perplexity
        <BLANKLINE>
        - **perplexity**: 3.3000
        - **loss** (mean NLL per token): 1.2000
        - **token accuracy**: 0.6000
        - **tokens**: 90
    """
    m, info = report["metrics"], dict(report.get("info", {}))
    generation = info.pop("generation", None)
    scope = info.pop("perplexity", None)
    lines = ["# Evaluation report", ""]
    lines += [f"- **{key}**: {value}" for key, value in info.items()]
    lines += ["", "## Perplexity", ""]
    if scope:
        lines += [f"Scored tokens: {scope}.", ""]
    lines += [f"- **perplexity**: {_fmt(m['perplexity'])}", f"- **loss** (mean NLL per token): {_fmt(m['loss'])}",
              f"- **token accuracy**: {_fmt(m['accuracy'])}", f"- **tokens**: {m['tokens']}"]
    if generation:
        beams = f", {generation['num_beams']} beams" if generation.get("num_beams") else ""
        lines += ["", f"## Generation ({generation['method']}{beams}, at most {generation['max_new_tokens']} new "
                      "tokens)", "",
                  "Hypotheses and references are the tokenizer's tokens joined by spaces.", "",
                  f"- **BLEU**: {m['bleu']:.2f}", f"- **ROUGE-1 F1**: {_fmt(m['rouge1'])}",
                  f"- **ROUGE-2 F1**: {_fmt(m['rouge2'])}", f"- **ROUGE-L F1**: {_fmt(m['rougeL'])}",
                  f"- **exact match**: {_fmt(m['exact_match'])}",
                  f"- **examples generated**: {generation['examples']}"
                  + (f" (the first {generation['limit']} only)" if generation.get("limit") else "")]
        if generation.get("skipped"):
            lines.append(f"- **skipped**: {generation['skipped']} (too short: an lm prompt needs one token and "
                         "the reference another; a seq2seq source at least one)")
    examples = report.get("examples") or []
    if examples:
        column = "prompt" if report.get("info", {}).get("task") == "lm" else "source"
        lines += ["", f"## Examples (first {min(len(examples), SHOWN_EXAMPLES)} of {len(examples)})", "",
                  f"| # | {column} | reference | hypothesis |", "|---:|---|---|---|"]
        for row in examples[:SHOWN_EXAMPLES]:
            lines.append(f"| {row['index']} | {_cell(row['input'])} | {_cell(row['reference'])} "
                         f"| {_cell(row['hypothesis'])} |")
    if "training_curves" in report.get("files", {}):
        lines += ["", "## Plots", "", f"![training curves]({report['files']['training_curves']})"]
    return "\n".join(lines) + "\n"
