"""Report files and plots: JSON round trip, Markdown content, PNGs that are real images."""
import json

import numpy as np
import pytest
from PIL import Image

from zoo.evaluation import plots
from zoo.evaluation.metrics import classification_metrics, confident_mistakes
from zoo.evaluation.reports import write_generation_report, write_report


def assert_png(path, min_side=100):
    """The file is a decodable PNG of a plausible size."""
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    with Image.open(path) as image:
        image.load()
        assert image.format == "PNG"
        assert min(image.size) >= min_side
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 5, f"{path} looks blank"


def _binary_case():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    p1 = np.clip(0.5 + 0.35 * (2 * y - 1) + 0.3 * rng.normal(size=60), 0.01, 0.99)
    return y, np.stack([1 - p1, p1], 1), [f"text number {i} | with a pipe" for i in range(60)]


def test_binary_report_writes_json_markdown_and_plots(tmp_path):
    y, probs, texts = _binary_case()
    metrics = classification_metrics(y, probs, ["neg", "pos"])
    mistakes = confident_mistakes(texts, y, probs, ["neg", "pos"], limit=3)
    history = {"loss": [0.7, 0.5, 0.4], "val_loss": [0.72, 0.6, 0.58], "accuracy": [0.5, 0.7, 0.8]}
    report = write_report(
        tmp_path, metrics, history=history, mistakes=mistakes, y_true=y, probabilities=probs, info={"split": "test"}
    )
    on_disk = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert on_disk == report
    assert on_disk["metrics"]["accuracy"] == pytest.approx(np.mean(probs.argmax(1) == y))
    assert set(report["files"]) == {"json", "markdown", "confusion_matrix", "training_curves", "roc_curve",
                                    "precision_recall_curve"}
    for key in ("confusion_matrix", "training_curves", "roc_curve", "precision_recall_curve"):
        assert_png(tmp_path / report["files"][key])

    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"{metrics['accuracy']:.4f}" in md
    for row in metrics["per_class"]:
        assert f"| {row['label']} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} |" in md
    assert mistakes[0]["text"].replace("|", "\\|") in md
    assert "![roc curve](roc_curve.png)" in md
    assert "![precision recall curve](precision_recall_curve.png)" in md
    assert f"- **average precision (of pos)**: {metrics['average_precision']:.4f}" in md


def test_multiclass_report_has_no_roc_and_many_class_confusion_plot(tmp_path):
    rng = np.random.default_rng(1)
    c = 30
    probs = rng.dirichlet(np.ones(c), size=200)
    y = rng.integers(0, c, 200)
    metrics = classification_metrics(y, probs, [f"label_{k}" for k in range(c)])
    report = write_report(tmp_path, metrics, y_true=y, probabilities=probs)
    assert not {"roc_curve", "precision_recall_curve", "training_curves"} & set(report["files"])
    assert_png(tmp_path / "confusion_matrix.png")
    assert "top-5 accuracy" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_a_report_replaces_the_files_of_an_earlier_report_in_its_folder_and_no_others(tmp_path):
    out, lm_metrics = tmp_path / "eval", {"loss": 1.2, "accuracy": 0.6, "perplexity": 3.3, "tokens": 90}
    y, probs, _ = _binary_case()
    first = write_report(out, classification_metrics(y, probs, ["neg", "pos"]), history={"loss": [0.7, 0.5]},
                         y_true=y, probabilities=probs)
    assert {"training_curves", "roc_curve"} <= set(first["files"])
    (out / "notes.md").write_text("mine")
    # another evaluation (3 classes, no history) draws neither curve: the first one's are not left beside it
    second = write_report(out, classification_metrics([0, 1, 2], np.eye(3) * 0.7 + 0.1, ["a", "b", "c"]))
    assert sorted(p.name for p in out.iterdir()) == sorted([*second["files"].values(), "notes.md"])
    write_generation_report(out, lm_metrics, [])
    assert sorted(p.name for p in out.iterdir()) == ["notes.md", "report.json", "report.md"]
    # files no zoo report listed are not the report's, even with a plot's name or listed by a hand-edited report
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "roc_curve.png").write_bytes(b"a user's picture")
    (tmp_path / "secret.txt").write_text("keep")
    (mine / "report.json").write_text(json.dumps({"files": {"x": "../secret.txt", "y": "notes.md"}}))
    (mine / "notes.md").write_text("keep")
    write_generation_report(mine, lm_metrics, [])
    assert (mine / "roc_curve.png").is_file() and (mine / "notes.md").is_file() and (tmp_path / "secret.txt").is_file()


def test_attention_plots_are_images(tmp_path):
    tokens = ["[CLS]", "a", "fine", "film"]
    weights = np.random.default_rng(0).dirichlet(np.ones(4), size=(4, 4))
    assert_png(plots.plot_attention_heads(weights, tokens, tmp_path / "heads.png"))
    assert_png(plots.plot_token_importance(tokens, [0.1, 0.2, 0.4, 0.3], tmp_path / "imp.png"))
    with pytest.raises(ValueError, match="one score per token"):
        plots.plot_token_importance(tokens, [0.1], tmp_path / "bad.png")


def test_importance_bars_of_the_markers_are_grey_and_do_not_flatten_the_words(tmp_path):
    import matplotlib.image

    def bar_heights(png, rgb):
        """Heights in pixels of the bars of colour ``rgb``, left to right."""
        mask = np.abs(matplotlib.image.imread(png)[..., :3] - np.array(rgb)).max(axis=-1) < 0.05
        columns = mask.any(axis=0).astype(int)
        starts = np.flatnonzero(np.diff(columns, prepend=0) == 1)
        ends = np.flatnonzero(np.diff(columns, append=0) == -1)
        return [int(mask[:, (a + b) // 2].sum()) for a, b in zip(starts, ends)]

    orange, grey = (1.0, 0.498, 0.055), (0.498, 0.498, 0.498)
    tokens = ["[CLS]", "how", "far", "is", "it", "?", "[SEP]"]
    scores = [0.58, 0.04, 0.04, 0.04, 0.03, 0.05, 0.22]  # where MiniLM's attention rollout puts it
    plain = bar_heights(plots.plot_token_importance(tokens, scores, tmp_path / "plain.png"), orange)
    marked = tmp_path / "marked.png"
    plots.plot_token_importance(tokens, scores, marked, markers=[True, False, False, False, False, False, True])
    words = bar_heights(marked, orange)
    # grey: two bars the axis cuts, beside grey anti-aliased text
    assert len(plain) == 7 and len(words) == 5 and sum(h > max(words) for h in bar_heights(marked, grey)) == 2
    # [CLS]'s bar set the axis, and the words' bars were a few pixels high
    assert max(words) > 5 * max(plain[1:-1])
    assert words[3] == pytest.approx(words[4] * 0.03 / 0.05, abs=2)  # still to scale among themselves


def test_training_curves_accept_per_epoch_rows(tmp_path):
    rows = [{"epoch": 1, "loss": 0.9, "val_loss": 1.0}, {"epoch": 2, "loss": 0.6, "val_loss": 0.8}]
    assert_png(plots.plot_training_curves(rows, tmp_path / "c.png"))
    with pytest.raises(ValueError, match="no metric columns"):
        plots.plot_training_curves([{"epoch": 1}], tmp_path / "d.png")


def _curves_figure(history, tmp_path, monkeypatch):
    """The figure ``plot_training_curves`` draws for ``history`` (its PNG written too)."""
    drawn = []
    save = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path: drawn.append(fig) or save(fig, path))
    assert_png(plots.plot_training_curves(history, tmp_path / "curves.png"))
    return drawn[0]


def test_training_curves_tick_the_epochs_of_the_history(tmp_path, monkeypatch):
    one = _curves_figure([{"epoch": 1, "loss": 0.7, "val_loss": 0.66}], tmp_path, monkeypatch)
    assert [list(ax.get_xticks()) for ax in one.axes] == [[1]]
    # A resumed run's history starts past epoch 1: points and ticks are its epochs, not 1..n.
    resumed = _curves_figure({"epoch": [3, 4, 5], "loss": [0.6, 0.5, 0.4], "accuracy": [0.6, 0.7, 0.8]},
                             tmp_path, monkeypatch)
    assert [list(ax.get_xticks()) for ax in resumed.axes] == [[3, 4, 5], [3, 4, 5]]
    assert [list(line.get_xdata()) for ax in resumed.axes for line in ax.lines] == [[3, 4, 5], [3, 4, 5]]
    long = _curves_figure({"loss": list(np.linspace(1, 0.1, 40))}, tmp_path, monkeypatch)
    ticks = long.axes[0].get_xticks()
    assert np.all(ticks == np.round(ticks)) and len(ticks) <= 12


def test_label_names_and_tokens_with_dollar_signs_are_drawn_as_text(tmp_path):
    # matplotlib reads "$...$" as mathtext: "a$^$b" failed at savefig ("ParseSyntaxException"), "$0-$50" was math
    names = ["$0-$50", "a$^$b"]
    m = classification_metrics([0, 1, 1], [[0.8, 0.2], [0.4, 0.6], [0.7, 0.3]], names)
    report = write_report(tmp_path / "eval", m, y_true=[0, 1, 1], probabilities=[[0.8, 0.2], [0.4, 0.6], [0.7, 0.3]])
    for name in ("confusion_matrix", "roc_curve"):
        assert_png(tmp_path / "eval" / report["files"][name])
    assert_png(plots.plot_token_importance(["x$^$", "film"], np.array([0.5, 0.5]), tmp_path / "importance.png",
                                           title="predicted $0-$50"))
    assert_png(plots.plot_attention_heads(np.full((1, 2, 2), 0.5), ["x$^$", "film"], tmp_path / "heads.png"))


def test_long_label_names_and_words_are_cut_so_the_plots_keep_their_axes(tmp_path, monkeypatch):
    import warnings

    # Uncut, a 300-character name squeezed the axes to nothing ("constrained_layout not applied") and names
    # sharing a long prefix all showed the same last characters, off the figure's edge.
    drawn = []
    save = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path: drawn.append(fig) or save(fig, path))
    names = [f"label number {i} of a long set of names " * 3 for i in range(5)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.plot_confusion_matrix(np.eye(5, dtype=int), names, tmp_path / "cm.png")
        plots.plot_confusion_matrix([[3, 1], [0, 2]], ["x" * 300, "y" * 300], tmp_path / "cm2.png")
        plots.plot_token_importance(["w" * 200, "film"], [0.5, 0.5], tmp_path / "importance.png")
        plots.plot_attention_heads(np.full((1, 2, 2), 0.5), ["w" * 200, "film"], tmp_path / "heads.png")
    assert [t.get_text() for t in drawn[0].axes[0].get_yticklabels()] == [
        f"label number {i} of a lon…" for i in range(5)]
    assert [t.get_text() for t in drawn[2].axes[0].get_xticklabels()] == ["w" * 23 + "…", "film"]
    for name in ("cm.png", "cm2.png", "importance.png", "heads.png"):
        assert_png(tmp_path / name)


def test_markdown_figures_are_the_metrics_own():
    # Every figure in report.md is read back and compared with the metrics dict it renders, column by column.
    from zoo.evaluation.reports import render_markdown

    y, probs, _ = _binary_case()
    m = classification_metrics(y, probs, ["neg", "pos"])
    lines = render_markdown({"metrics": m}).splitlines()
    headline = dict(line[4:].split("**: ") for line in lines if line.startswith("- **"))
    best = m["best_f1_threshold"]
    assert headline.pop("best F1 of pos") == (f"{best['f1']:.4f} at threshold {best['threshold']:.4g} (precision "
                                              f"{best['precision']:.4f}, recall {best['recall']:.4f})")
    assert {k: float(v) for k, v in headline.items()} == pytest.approx(
        {"examples": 60, "accuracy": m["accuracy"], "log-loss": m["log_loss"], "ROC-AUC": m["roc_auc"],
         "average precision (of pos)": m["average_precision"]}, abs=5e-5)
    rows = {line.split("|")[1].strip(): [float(v) for v in line.split("|")[2:5]]
            for line in lines if line.startswith("| ") and line.count("|") == 6 and "precision" not in line}
    expected = {r["label"]: [r["precision"], r["recall"], r["f1"]] for r in m["per_class"]}
    expected.update({f"*{k} avg*": [a["precision"], a["recall"], a["f1"]] for k, a in m["averages"].items()})
    assert rows.keys() == expected.keys()
    for name, values in expected.items():
        assert rows[name] == pytest.approx(values, abs=5e-5)


def test_multilabel_reports_name_subset_and_per_label_accuracy():
    from zoo.evaluation.cli import _headline
    from zoo.evaluation.reports import render_markdown

    m = classification_metrics([[1, 0], [1, 1]], [[0.9, 0.2], [0.8, 0.3]], ["a", "b"], multilabel=True)
    report = {"info": {}, "metrics": m, "confident_mistakes": []}
    assert "subset accuracy 0.5000" in _headline(report)
    md = render_markdown(report)
    assert "**subset accuracy**: 0.5000" in md and "per-label accuracy 0.7500" in md


def test_a_report_says_which_classes_macro_averages_leave_out_and_why_roc_auc_is_missing(tmp_path):
    metrics = classification_metrics([1, 1, 1], [[0.2, 0.8], [0.6, 0.4], [0.1, 0.9]], ["neg", "pos"])
    write_report(tmp_path, metrics)
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "- **ROC-AUC**: – (only pos is in the labels; ROC-AUC needs examples of both classes)\n" in text
    assert ("| *macro avg* | 1.0000 | 0.6667 | 0.8000 | |" in text and "\nThe macro averages are over the classes in "
            "the labels (pos): neg had no example, and would count as F1 0 (scikit-learn's zero_division); "
            "predictions of them count as misses of the true classes.\n" in text)
