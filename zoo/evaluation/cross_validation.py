"""``zoo cv``: k-fold cross-validation of a training config, reported as mean ± standard deviation."""
import json
import math
import os
from pathlib import Path

from zoo.config import ConfigError, check_seed
from zoo.evaluation.metrics import PER_LABEL_ACCURACY, SUBSET_ACCURACY, accuracy_name
from zoo.evaluation.reports import OUT_DIR_FIX, REPORT_DIR, _cell
from zoo.evaluation.runner import evaluate_model, fold_stats, summarize_folds
from zoo.paths import check_output

CV_JSON = "cv.json"
CV_MD = "cv.md"
_SUBSET_NOTE = (f" Their {SUBSET_ACCURACY} counts the examples with every label right; the {PER_LABEL_ACCURACY} "
                "in each run's metrics.json counts the right (example, label) decisions.")


def _fold_config(config, fold_dir):
    from zoo.config import Config

    mapping = config.to_dict()
    data = fold_dir / "data"
    mapping["data"].update(source=str(data / "train.jsonl"), test_source=str(data / "test.jsonl"), load_options={})
    mapping["output"].update(dir=str(fold_dir / "run"), overwrite=False)
    return Config.from_dict(mapping)


def _load_examples(config):
    import zoo.data
    from zoo.training.data import load_options, lowercases, naming_config_keys

    c = config.data
    for key in ("test_source", "validation_source"):
        if getattr(c, key) is not None:
            raise ValueError(f"cross-validation folds data.source itself, and holds out data.validation_split of "
                             f"each fold's training part for validation; unset data.{key} (got {getattr(c, key)!r})")
    if c.test_split != type(c).test_split:
        raise ValueError(f"cross-validation tests each fold on its own part of data.source, so none is held out for "
                         f"testing; unset data.test_split (got {c.test_split})")
    split = {"split": "train"} if "train" in zoo.data.official_splits(
        c.source, data_dir=c.load_options.get("data_dir")) else {}
    with naming_config_keys():
        data = zoo.data.load(c.source, **split, **load_options(config, "classification"))
    # As zoo.train does (data.deduplicate): a text in two folds would be tested on after training on it.
    return zoo.data.deduplicate(data, lowercase=lowercases(config)) if c.deduplicate else data


def _check_fold_settings(config, out):
    """Raise ``ConfigError`` for a setting each fold's run would ignore or fail on: the folds' runs go under ``out``
    (``output.dir`` and ``overwrite`` are set per fold), and their validation set is ``data.validation_split``
    of each fold's training part, the only one zoo cv allows."""
    c = config.output
    if c.dir is not None:
        raise ConfigError(f"output.dir would be ignored: zoo cv writes its folds' runs and {CV_JSON} under out_dir "
                          f"(--out); set that instead, and unset output.dir (got {c.dir!r})")
    if c.overwrite:
        raise ConfigError(f"output.overwrite would be ignored: zoo cv reuses the finished folds in out_dir (--out) "
                          f"and resumes an interrupted one; to start afresh, remove {out} or set out_dir (--out) to a "
                          "new directory, and unset output.overwrite")
    if config.training.early_stopping.patience and not config.data.validation_split:
        raise ConfigError("training.early_stopping.patience needs a validation set, which zoo cv holds out of each "
                          "fold's training part: set data.validation_split > 0, or training.early_stopping.patience=0")


def _save_fold_part(part, path, run_dir):
    """Write a fold's train or test part to ``path``, unless ``run_dir`` (finished or interrupted) trained on
    other examples there: a rerun with another seed, number of folds or source would reuse (or resume) that
    run, whose config names the same files, and test it on examples it trained on."""
    new = part.save_jsonl(path.with_name(f".{path.name}"))
    if run_dir.exists() and path.is_file() and path.read_bytes() != new.read_bytes():
        new.unlink()
        raise ValueError(f"{path} holds other examples than this cross-validation puts there (another seed, number "
                         f"of folds or data), and {run_dir} trained on them; use another out_dir for this "
                         "cross-validation")
    os.replace(new, path)


def _finished_run(fold_config, run_dir):
    """True when ``run_dir`` holds a finished run of ``fold_config`` (so a rerun reuses it)."""
    from zoo.config import Config, changed_settings
    from zoo.training.run import MAY_CHANGE_ON_RESUME

    if not (run_dir / "metrics.json").is_file():
        return False
    # What a resume may change cannot change a finished run's model: the display, the strategy, checkpointing.
    changed = changed_settings(Config.load(run_dir / "config.yaml").to_dict(), fold_config.to_dict(),
                               ignore=MAY_CHANGE_ON_RESUME)
    if changed:
        raise ValueError(f"{run_dir} holds a finished run of a different config ({'; '.join(changed)}); set out_dir "
                         "(--out) to another directory for this cross-validation")
    return True


def _check_every_fold_trains_every_label(data, parts, seed):
    """Raise unless each fold's training part has every label of ``data``: a fold's run learns only the labels it
    trains on, and could not score its test part's examples of another (random multi-label folds can do this)."""
    counts = data.class_counts()
    for k, (train_part, _) in enumerate(parts):
        missing = [name for name, count in train_part.class_counts().items() if counts[name] and not count]
        if missing:
            raise ValueError(f"{data.source}: every example of label {missing[0]!r} ({counts[missing[0]]} in all) "
                             f"falls in fold {k + 1}'s test part (fold seed {seed}), so that fold's run would "
                             "never learn it; use fewer folds, another fold seed (--seed), or more examples of it")


def _check_folds_leave_a_validation_split(data, folds, validation_split):
    """Raise unless each fold's training part keeps 2 examples of every class, which the stratified
    ``data.validation_split`` of it puts on both sides (``zoo.data.kfold`` checks only that each fold tests each
    class: a class of 2 examples passed it with 2 folds, then failed inside fold 1's run)."""
    if not validation_split or data.multilabel:
        return
    # The rarest class keeps the fewest: a fold tests up to ceil(n / folds) of a class's n examples.
    n, name = min((n, name) for name, n in data.class_counts().items() if n)
    kept = n - math.ceil(n / folds)
    if kept >= 2:
        return
    # With n folds a fold tests 1 example of it, the fewest; without a validation split, zoo.data.kfold's check
    # (at least one example per fold) is left.
    fixes = ([f"use {n} folds (--folds)"] if n >= 3 else []) + ["add examples of it"] + (
        ["set data.validation_split=0 (and training.early_stopping.patience=0)"] if n >= folds else [])
    raise ValueError(f"{data.source}: class {name!r} has {n} example{'s' * (n > 1)}; with {folds} folds a fold's "
                     f"training part keeps only {kept} of them, and its stratified data.validation_split needs 2 "
                     f"to put the class on both sides; {', '.join(fixes[:-1])}{', or ' * (len(fixes) > 1)}"
                     f"{fixes[-1]}")


def cross_validate(config=None, *, folds=10, overrides=(), out_dir=None, seed=None, progress=True):
    """Train and evaluate ``config`` on ``folds`` stratified folds of its data (random folds for multi-label
    data); report mean ± std.

    Each fold is an ordinary training run (``<out_dir>/fold_<k>/run``) on that fold's training part, with
    ``data.validation_split`` of it held out for early stopping, evaluated on the fold's test part. A rerun
    with the same config reuses finished folds and resumes an interrupted one.

    Args:
        config: a ``Config``, dict, YAML/JSON path or ``None`` (defaults); ``output.dir`` and ``output.overwrite``
            are refused: the folds' runs go under ``out_dir``.
        folds: number of folds, at least 2 (MR and SUBJ are reported with 10).
        overrides: ``key=value`` strings applied on top of ``config``.
        out_dir: where fold runs and ``cv.json`` / ``cv.md`` go; default ``<default run dir>-cv<folds>``.
        seed: fold-assignment seed; defaults to ``training.seed``.
        progress: print one line per fold on stderr.

    Returns:
        ``{"folds": [...per-fold metrics...], "summary": {metric: {"mean", "std", "values"}}, ...}``; single-label
        data add ``per_class`` (``summarize_classes``) and ``majority_baseline`` (``majority_baseline``).

    Example:
        >>> cv = cross_validate({"data": {"source": "reviews.jsonl"}, "model": {"name": "cnn"},
        ...                      "training": {"epochs": 1}}, folds=2, progress=False)
        >>> cv["out_dir"], list(cv["summary"]), len(cv["summary"]["accuracy"]["values"])
        ('runs/reviews-cnn-cv2', ['accuracy', 'log_loss', 'macro_f1', 'weighted_f1', 'roc_auc', 'average_precision'], 2)
    """
    import zoo.data
    from zoo.training import as_config, load_run, train
    from zoo.training.data import load_options, task_of_config
    from zoo.training.progress import Progress
    from zoo.training.run import default_run_dir, reads_pairs, trained_model_name

    # Before the config: "2" failed comparing with 2, and 2.0 in zoo.data.kfold, naming its argument k.
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds (--folds) must be an integer of at least 2, got {folds!r}")
    config = as_config(config, overrides)
    task = task_of_config(config)
    if task != "classification":
        raise ConfigError(f"model.name: {config.model.name!r} is not a classifier (its task is {task}); zoo cv "
                          "cross-validates classifiers")
    if seed is None:
        seed = config.training.seed
    else:
        check_seed(seed, "seed (--seed)")
    out = Path(out_dir) if out_dir else Path(f"{default_run_dir(config)}-cv{folds}")
    _check_fold_settings(config, out)
    check_output(out, OUT_DIR_FIX)
    data = _load_examples(config)
    fold_reports = []
    # A multi-label example has several classes to stratify by: its folds are drawn at random.
    _check_folds_leave_a_validation_split(data, folds, config.data.validation_split)
    parts = zoo.data.kfold(data, k=folds, seed=seed, stratify=not data.multilabel)
    _check_every_fold_trains_every_label(data, parts, seed)
    for k, (train_part, test_part) in enumerate(parts):
        fold_dir = out / f"fold_{k}"
        for part, name in ((train_part, "train.jsonl"), (test_part, "test.jsonl")):
            _save_fold_part(part, fold_dir / "data" / name, fold_dir / "run")
        fold_config = _fold_config(config, fold_dir)
        if not _finished_run(fold_config, fold_dir / "run"):
            train(fold_config)
        model, tokenizer, label_names, trained = load_run(fold_dir / "run")
        test = zoo.data.load(fold_dir / "data" / "test.jsonl", label_names=label_names,
                             **load_options(fold_config, "classification"))
        report = evaluate_model(
            model, tokenizer, label_names, test.inputs, test.labels, out_dir=fold_dir / REPORT_DIR,
            sequence_length=trained.data.sequence_length, info={"fold": f"{k + 1}/{folds}", "data": config.data.source},
            pairs=reads_pairs(fold_dir / "run"),
        )
        fold_reports.append(report["metrics"])
        if progress:  # a Progress line is one write: a Ctrl-C cannot glue the interrupt message to it
            Progress("epoch").message(f"fold {k + 1}/{folds}: {accuracy_name(report['metrics'])} "
                                      f"{report['metrics']['accuracy']:.4f} "
                                      f"({len(test):,} test examples)")
    summary = summarize_folds(fold_reports)
    result = {"data": config.data.source, "model": trained_model_name(config), "folds": fold_reports,
              "summary": summary, "multilabel": data.multilabel, "num_folds": folds, "seed": seed,
              "num_examples": len(data), "out_dir": str(out)}
    if not data.multilabel:
        result["per_class"] = summarize_classes(fold_reports)
        result["majority_baseline"] = majority_baseline(fold_reports)
    out.mkdir(parents=True, exist_ok=True)
    (out / CV_JSON).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (out / CV_MD).write_text(render_cv_markdown(result), encoding="utf-8")
    return result


def metric_title(name, result):
    """How ``cv.md`` and ``zoo cv`` name a summary metric of ``result``: multi-label accuracy is subset accuracy.

    Example:
        >>> metric_title("accuracy", {"multilabel": True}), metric_title("log_loss", {"multilabel": True})
        ('subset accuracy', 'log_loss')
    """
    return accuracy_name(result) if name == "accuracy" else name


def summarize_classes(fold_metrics):
    """Each class's F1 and recall over the folds of a single-label cross-validation (``fold_stats``), and its test
    examples in all folds (``support``): the averages can hide a class the folds' runs never get right.

    Example:
        >>> from zoo.evaluation.metrics import classification_metrics
        >>> m1 = classification_metrics([0, 0, 1], [[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]], ["neg", "pos"])
        >>> m2 = classification_metrics([0, 0, 1], [[0.9, 0.1], [0.4, 0.6], [0.3, 0.7]], ["neg", "pos"])
        >>> [(row["label"], row["support"], row["recall"]["values"]) for row in summarize_classes([m1, m2])]
        [('neg', 4, [1.0, 0.5]), ('pos', 2, [0.0, 1.0])]
    """
    classes = zip(*(m["per_class"] for m in fold_metrics))
    # A class without examples (a label vocabulary given with classes=) has no recall; a class with some is in
    # every fold's test part (stratified folds), so it has an F1 and recall in each.
    return [{"label": rows[0]["label"], "support": sum(row["support"] for row in rows),
             "f1": fold_stats([row["f1"] for row in rows]), "recall": fold_stats([row["recall"] for row in rows])}
            for rows in classes if any(row["support"] for row in rows)]


def majority_baseline(fold_metrics):
    """The accuracy on each fold's test part of always predicting the class with the most test examples
    (``fold_stats``, with its ``label``): what a model that learnt nothing but the class balance scores.

    Example:
        >>> from zoo.evaluation.metrics import classification_metrics
        >>> m = classification_metrics([0, 0, 0, 1], [[0.9, 0.1]] * 4, ["neg", "pos"])
        >>> majority_baseline([m, m])
        {'label': 'neg', 'mean': 0.75, 'std': 0.0, 'values': [0.75, 0.75]}
    """
    supports = [sum(m["per_class"][j]["support"] for m in fold_metrics)
                for j in range(len(fold_metrics[0]["per_class"]))]
    j = supports.index(max(supports))
    return {"label": fold_metrics[0]["per_class"][j]["label"],
            **fold_stats([m["per_class"][j]["support"] / m["num_examples"] for m in fold_metrics])}


def render_cv_markdown(result):
    """Render a cross-validation result as Markdown: one mean ± std table, then the per-fold values; single-label
    results add the majority-class baseline to it and a table of each class's F1 and recall.

    Example:
        >>> cv = {"data": "reviews.jsonl", "model": "cnn", "num_folds": 2, "num_examples": 400, "seed": 42,
        ...       "multilabel": False, "summary": {"accuracy": {"mean": 0.8, "std": 0.05, "values": [0.75, 0.85]}}}
        >>> print(render_cv_markdown(cv))
        # 2-fold cross-validation: reviews.jsonl, cnn
        <BLANKLINE>
        400 examples, fold seed 42. Each fold's metrics are zoo evaluate's of its run on its test part.
        <BLANKLINE>
        | metric | mean ± std | fold 1 | fold 2 |
        |---|---:|---:|---:|
        | accuracy | 0.8000 ± 0.0500 | 0.7500 | 0.8500 |
    """
    summary = result["summary"]
    lines = [f"# {result['num_folds']}-fold cross-validation: {result['data']}, {result['model']}", "",
             f"{result['num_examples']} examples, fold seed {result['seed']}. Each fold's metrics are zoo evaluate's "
             f"of its run on its test part.{_SUBSET_NOTE if result['multilabel'] else ''}", "",
             "| metric | mean ± std | " + " | ".join(f"fold {i + 1}" for i in range(result["num_folds"])) + " |",
             "|---|---:|" + "---:|" * result["num_folds"]]
    rows = [(metric_title(name, result), stats) for name, stats in summary.items()]
    baseline = result.get("majority_baseline")
    if baseline:
        rows.append((f"accuracy of always {_cell(baseline['label'])} (majority-class baseline)", baseline))
    for title, stats in rows:
        folds = " | ".join(f"{v:.4f}" for v in stats["values"])
        lines.append(f"| {title} | {_mean_std(stats)} | {folds} |")
    if result.get("per_class"):
        lines += ["", "## Per class (mean ± std over the folds)", "", "| class | test examples | F1 | recall |",
                  "|---|---:|---:|---:|"]
        lines += [f"| {_cell(row['label'])} | {row['support']} | {_mean_std(row['f1'])} | {_mean_std(row['recall'])} |"
                  for row in result["per_class"]]
    return "\n".join(lines) + "\n"


def _mean_std(stats):
    return f"{stats['mean']:.4f} ± {stats['std']:.4f}"
