"""``zoo.evaluate``: score a trained model on labelled texts through its serving graph and write a report.

Runs of lm, mlm and seq2seq models go to ``zoo.evaluation.generation`` (perplexity and generated text). The metrics
and reports (scikit-learn, matplotlib) are imported where they are used: ``zoo evaluate --help`` reads
``DEFAULT_MISTAKES`` from here.
"""
import logging
from pathlib import Path

import numpy as np

from zoo.console import a_task
from zoo.paths import check_output

log = logging.getLogger(__name__)

DEFAULT_MISTAKES = 20
# The report's info key: how many texts had more tokens than the model reads and were scored on what fits.
TRUNCATED = "truncated_texts"


def evaluate_model(model, tokenizer, label_names, texts, labels, *, out_dir=None, history=None, sequence_length=None,
                   batch_size=256, mistakes=DEFAULT_MISTAKES, info=None, progress=False, pairs=False, threshold=None):
    """Evaluate a classifier on raw texts, exactly as the exported model would serve them.

    Args:
        model: a zoo classifier.
        tokenizer: its zoo tokenizer.
        label_names: class names in id order.
        texts: the texts (``LabeledTexts.inputs``); ``(text_a, text_b)`` pairs for a sentence-pair model.
        labels: ``[N]`` class ids (``[N, C]`` multi-hot for a multi-label model).
        out_dir: where to write ``report.json``, ``report.md`` and plots; ``None`` writes nothing.
        history: the training history, for the training-curves plot.
        sequence_length: longest id sequence; defaults to the model's position range.
        batch_size: texts per model call.
        mistakes: how many of the most confident mistakes to list.
        info: extra facts for the report header.
        progress: show a progress bar.
        pairs: the model classifies sentence pairs.
        threshold: the decision threshold (``zoo.evaluation.metrics.predicted_ids``), as ``zoo export
            --threshold`` would serve it.

    Returns:
        The report dict: ``metrics``, ``confident_mistakes``, ``info`` (with ``truncated_texts``, how many texts
        had more tokens than the model reads and were scored on what fits) and ``files``.

    Example:
        >>> model, tokenizer, labels, _ = zoo.training.load_run("runs/reviews")
        >>> report = evaluate_model(model, tokenizer, labels, ["a superb film", "a dull , boring film"], [1, 0],
        ...                         out_dir="eval")
        >>> report["metrics"]["num_examples"], report["files"]["markdown"]
        (2, 'report.md')
    """
    from zoo.export.predict import InMemoryPredictor

    predictor = InMemoryPredictor(model, tokenizer, label_names, sequence_length, pairs=pairs, threshold=threshold)
    return score_predictor(predictor, texts, labels, out_dir=out_dir, history=history, batch_size=batch_size,
                           mistakes=mistakes, info=info, progress=progress)


def score_predictor(predictor, texts, labels, *, out_dir=None, history=None, batch_size=256,
                    mistakes=DEFAULT_MISTAKES, info=None, progress=False):
    """``evaluate_model``'s report for a predictor of ``zoo.export.predict`` (in memory, or an export's), which
    decides the labels with its own threshold.

    Example:
        >>> from zoo.export.predict import load_predictor
        >>> score_predictor(load_predictor("saved_models/reviews"), ["a superb film"], [1])["metrics"]["accuracy"]
        1.0
    """
    from zoo.evaluation.metrics import classification_metrics, confident_mistakes
    from zoo.evaluation.reports import write_report

    # Texts longer than the model reads are scored as training scored them, cut: a count in the report, not a
    # warning (data.sequence_length: auto cuts the longest few texts by design).
    predictions = predictor.predict(texts, batch_size=batch_size, progress=progress, quiet=("truncated",))
    info = {**(info or {}), TRUNCATED: int(np.sum(predictions.truncated))}
    multilabel = predictor.mode == "multilabel"
    threshold = predictor.threshold
    metrics = classification_metrics(labels, predictions.probabilities, predictor.label_names, multilabel=multilabel,
                                     threshold=threshold)
    shown = [" [SEP] ".join(pair) for pair in texts] if predictor.pairs else texts
    wrong = [] if multilabel else confident_mistakes(
        shown, labels, predictions.probabilities, predictor.label_names, limit=mistakes, threshold=threshold)
    if out_dir is None:
        return {"info": dict(info or {}), "metrics": metrics, "confident_mistakes": wrong, "files": {}}
    return write_report(out_dir, metrics, history=history, mistakes=wrong, y_true=labels,
                        probabilities=predictions.probabilities, info=info)


def run_split(run_dir, config, split, load_options):
    """Return a run's own ``split`` (``test`` or ``validation``) texts and a description of them.

    Raises:
        ValueError: another split name, load options (the run's config says how to load), a split the run
            did not have, or data that changed since the run trained (its ``data_fingerprint.json`` differs).
    """
    from zoo.training.data import origin_of_split
    from zoo.training.run import DATA_FINGERPRINT, changed_examples

    if split not in ("test", "validation"):
        raise ValueError(f"split (--split) must be 'test' or 'validation' for a run's own data (its training split "
                         f"is not held out; with data= (--data), any official split of the data), got {split!r}")
    if load_options:
        raise ValueError(f"load options {sorted(load_options)} apply only with data= (--data); the run's own splits "
                         "are loaded as its config says")
    splits = run_splits(config)
    # Edited, added or reordered rows split differently: the rebuilt split would hold examples the run trained on.
    changed = [f"{name} split ({then:,} examples then, {now:,} now)"
               for name, (then, now) in changed_examples(run_dir, {"texts": splits}).items()]
    if changed:
        recorded = Path(run_dir) / DATA_FINGERPRINT
        raise ValueError(f"{config.data.source} changed since {run_dir} trained on it ({recorded} records other "
                         f"examples for its {' and '.join(changed)}), so the {split} split is no longer held out; "
                         "restore the data, or pass data= (--data) to evaluate on other texts")
    examples = splits[split]
    if examples is None:
        raise ValueError(f"run {run_dir} has no {split} split (data.{split}_split is 0 and no {split} source); "
                         "pass data= (--data) to evaluate on other texts")
    origin = origin_of_split(config, split)
    if origin in ("test_source", "validation_source"):
        return examples, f"{getattr(config.data, origin)} (the run's data.{origin})"
    if origin == "official":
        return examples, f"{config.data.source} (its official {split} split)"
    return examples, f"{config.data.source} ({split} split, seed {config.training.seed})"


def data_split(data, split, options):
    """Return the labelled texts of ``data`` (a ``zoo.data.load`` spec or ``LabeledTexts``) to evaluate on, and a
    description.

    A source with official splits (TREC, a folder of ``train``/``validation``/``test`` files) gives its ``split``,
    by default ``test``; others are read whole, and ``split`` is then an error.

    Args:
        data: The spec.
        split: An official split of ``data``, or ``None``.
        options: ``zoo.data.load`` options.

    Example:
        >>> data_split("trec", None, {})[1]
        'trec (its official test split)'
    """
    import zoo.data

    if isinstance(data, zoo.data.LabeledTexts):
        if split is not None:
            raise ValueError(f"split (--split) {split!r} picks an official split of a data source; the LabeledTexts "
                             f"{data.source} are evaluated whole: leave split out")
        return data, data.source
    official = zoo.data.official_splits(data, data_dir=options.get("data_dir"))
    if not official:
        if split is not None:
            raise ValueError(f"split (--split) {split!r} picks an official split of data (--data), and {data} has "
                             "none: it is evaluated whole; leave split out")
        return zoo.data.load(data, **options), str(data)
    split = split or "test"
    if split not in official:
        raise ValueError(f"{data} has the official splits {', '.join(official)}, not {split!r}; pass split "
                         "(--split) one of them")
    return zoo.data.load(data, split=split, **options), f"{data} (its official {split} split)"


def run_splits(config):
    """Rebuild the train / validation / test ``LabeledTexts`` a training run used, from its config.

    The same function ``zoo.train`` splits with (``zoo.training.data.split_texts``), so evaluating a run
    directory scores the very examples training held out.

    Args:
        config: the run's ``zoo.config.Config``.

    Returns:
        ``{"train": ..., "validation": ..., "test": ...}``; a split the run did not have is ``None``.

    Example:
        >>> run_splits(zoo.Config.load("runs/reviews/config.yaml"))["test"].summary()
        '...reviews.jsonl [test]: 40 examples (negative 22, positive 18)'
    """
    from zoo.training.data import split_texts

    return split_texts(config)


def evaluate(run_dir, data=None, *, split=None, out_dir=None, batch_size=256, mistakes=None,
             progress=True, method="greedy", num_beams=None, max_new_tokens=None, limit=None, threshold=None,
             **load_options):
    """Evaluate a finished training run, or a classifier's export, and write its report (``zoo evaluate RUN_DIR``).

    Classification runs get classifier metrics, through the graph their export serves; an export (``zoo evaluate
    saved_models/NAME --data FILE``) is scored as it serves, its decision threshold included; lm, mlm and seq2seq
    runs get perplexity and, for lm and seq2seq, generated-text metrics
    (``zoo.evaluation.generation.evaluate_generation``, which the generation options go to).

    Args:
        run_dir: a run directory written by ``zoo.train``, or a classifier's export (which needs ``data``).
        data: ``None`` for the run's own ``split``; a ``zoo.data.load`` spec (path or shortcut); or a
            ``LabeledTexts``. A classifier's labels are mapped onto the run's label vocabulary; a file is read
            with the run's text and label columns and label separator unless ``load_options`` set them; for seq2seq
            the text and label columns are the source and target.
        split: the run's own ``test`` (the default) or ``validation`` split; with ``data``, an official split of
            it (``data_split``; default ``test``).
        out_dir: report directory; defaults to ``<run_dir>/evaluation`` (an export's: ``evaluations/<name>/<version>``,
            not inside the SavedModel). An earlier report's files in it (those its ``report.json`` lists) are
            replaced; other files are left alone.
        batch_size: texts per model call.
        mistakes: how many of the most confident mistakes to list (single-label classifiers only; default
            ``DEFAULT_MISTAKES``).
        progress: show a progress bar.
        method: ``greedy`` or ``beam`` decoding (lm and seq2seq).
        num_beams: beam width for ``beam`` (default 4).
        max_new_tokens: most tokens to generate (lm and seq2seq); default the run's ``sequence_length``.
        limit: generate for the first ``limit`` examples only (lm and seq2seq).
        threshold: a classifier's decision threshold (``evaluate_model``).
        **load_options: options for ``zoo.data.load`` (``text_column``, ``encoding``, ...).

    Returns:
        The report dict (also in ``report.json``).

    Example:
        >>> report = zoo.evaluate("runs/reviews", progress=False)
        >>> report["metrics"]["num_examples"], report["metrics"]["label_names"]
        (40, ['negative', 'positive'])
    """
    from zoo.evaluation.reports import OUT_DIR_FIX, read_history
    from zoo.export.predict import find_saved_model
    from zoo.training import load_run
    from zoo.training.data import classification_mode, options_like_run
    from zoo.training.run import reads_pairs, run_model_name, run_task

    _check_load_options(load_options)
    run_dir = Path(run_dir)
    check_count("batch_size", batch_size, 1)
    # None, not the default, so that a count given for a run that lists no mistakes is refused, not ignored.
    listed = DEFAULT_MISTAKES if mistakes is None else check_count("mistakes", mistakes, 0)
    generating = method != "greedy" or num_beams is not None or max_new_tokens is not None or limit is not None
    exported = find_saved_model(run_dir) if run_dir.is_dir() else None
    if exported is not None:
        return _evaluate_export(exported, data, split=split, out_dir=out_dir, batch_size=batch_size, mistakes=listed,
                                progress=progress, threshold=threshold, generating=generating,
                                load_options=load_options)
    task = run_task(run_dir)
    if task is None:  # not a run at all (zoo evaluate data.csv): load_run names what is missing
        load_run(run_dir)
    out_dir = default_report_dir(run_dir) if out_dir is None else Path(out_dir)
    check_output(out_dir, OUT_DIR_FIX)  # before the model loads and the texts are scored
    if task not in (None, "classification"):
        if threshold is not None:
            raise ValueError(f"threshold (--threshold) applies to classifier runs; {run_dir} is {a_task(task)} run")
        if mistakes is not None:
            article = "an" if task in ("lm", "mlm") else "a"
            raise ValueError(f"mistakes (--mistakes) lists a classifier's most confident mistakes; {run_dir} is "
                             f"{article} {task} run: leave it out")
        from zoo.evaluation.generation import evaluate_generation

        return evaluate_generation(run_dir, data, split=split, out_dir=out_dir, method=method, num_beams=num_beams,
                                   max_new_tokens=max_new_tokens, limit=limit, batch_size=batch_size,
                                   progress=progress, **load_options)
    if task == "classification" and generating:
        raise ValueError(f"run {run_dir} is a classification run: method, num_beams, max_new_tokens and limit apply "
                         "to lm and seq2seq runs")
    model, tokenizer, label_names, config = load_run(run_dir)
    _check_mistakes(mistakes, classification_mode(config), f"{run_dir} is a multi-label run")
    if data is None:
        examples, source = run_split(run_dir, config, split or "test", load_options)
    else:
        # Other data are read as the run's were, unless load options say otherwise: its text columns (two for
        # sentence pairs), label column, header row, delimiter and separator of several labels per row.
        options = options_like_run(config, "classification", load_options)
        examples, source = data_split(data, split, {"label_names": label_names, **options})
        warn_trained_on(run_dir, config, examples)
    pairs = reads_pairs(run_dir)
    _check_examples(examples, source, label_names, pairs, "run")
    info = {"run": str(run_dir), "data": source, "model": run_model_name(run_dir)}
    if config.training.class_weight is not None:  # the run's training loss weighed the classes: say so
        info["class_weight"] = config.training.class_weight
    return evaluate_model(
        model, tokenizer, label_names, examples.inputs, examples.labels, out_dir=out_dir,
        history=read_history(run_dir), sequence_length=config.data.sequence_length, batch_size=batch_size,
        mistakes=listed, info=info, progress=progress, pairs=pairs, threshold=threshold,
    )


def _check_load_options(load_options):
    """Raise naming a keyword of ``evaluate`` that is neither its own nor a load option it passes on, with the
    closest one (it was ``zoo.data.load``'s TypeError, naming that function and no keyword it takes)."""
    import inspect

    from zoo.config import unknown_key
    from zoo.training.data import settable_load_options

    # ``inherited`` is set by options_like_run, not by a caller.
    accepted = settable_load_options() - {"inherited"}
    unknown = sorted(set(load_options) - accepted)
    if unknown:
        own = [name for name, parameter in inspect.signature(evaluate).parameters.items()
               if parameter.kind is inspect.Parameter.KEYWORD_ONLY]
        raise TypeError(f"zoo.evaluate(): {unknown_key(unknown[0], unknown[0], own + sorted(accepted))}")


def warn_trained_on(run_dir, config, examples, what="texts", *, exported=False):
    """Warn when ``examples`` (``data=``) hold texts the run trained on: scores on them measure memory, as ``zoo
    train`` warns for a test file that overlaps its training data. Without its data (moved, changed) the run has
    nothing to compare with, and no warning is given. ``what`` names the texts compared (a seq2seq run's
    ``sources``: its examples' texts); ``exported``: ``run_dir`` is an export of the run (its config says what
    the run trained on)."""
    import zoo.data
    from zoo.training.data import lowercases

    # The reload's own notes ("removed 3 duplicate texts" of the training file) read as if about the file scored.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        train = run_splits(config)["train"]
    except (OSError, ValueError):
        return
    finally:
        logging.disable(previous)
    shared = zoo.data.shared_texts(train, examples, lowercase=lowercases(config))
    if shared:
        log.warning("warning: %d of the %d %s of %s are %s %s %s trained on (first: %s); scores on them "
                    "measure memory, not generalisation", len(shared), len(examples), what, examples.source, what,
                    "the run of export" if exported else "run", run_dir, examples.location(shared[0]))


def check_count(name, value, least):
    """Return ``value``; raise naming ``name`` and its flag unless it is an integer of at least ``least``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        kind = "a positive integer" if least == 1 else f"an integer >= {least}"
        raise ValueError(f"{name} (--{name.replace('_', '-')}) must be {kind}, got {value!r}")
    return value


def _check_examples(examples, source, label_names, pairs, owner):
    """Raise unless ``examples`` have the model's label vocabulary and are single texts or pairs as it reads."""
    if list(examples.label_names) != list(label_names):
        raise ValueError(f"{source}: label vocabulary {examples.label_names} differs from the {owner}'s {label_names}")
    if examples.is_pairs != pairs:
        raise ValueError(f"{source}: {'sentence pairs' if examples.is_pairs else 'single texts'}, but the {owner}'s "
                         f"model reads {'sentence pairs (text_a, text_b)' if pairs else 'single texts'}")


def _evaluate_export(path, data, *, split, out_dir, batch_size, mistakes, progress, threshold, generating,
                     load_options):
    """``evaluate`` of a classifier's export (``zoo evaluate saved_models/NAME --data FILE``): what it serves,
    its threshold included, scored on ``data`` read as its run read files."""
    from zoo.evaluation.reports import OUT_DIR_FIX
    from zoo.export.embed import TASK as EMBEDDING
    from zoo.export.predict import EXPORT_READERS, check_export_threshold, load_predictor
    from zoo.export.saved_model import EXTRA_DIR, read_metadata, read_run_config
    from zoo.training.data import options_like_run
    from zoo.training.run import read_model_spec, run_model_name

    metadata = read_metadata(path)
    task = metadata.get("task", "classification")
    if task != "classification":
        fix = (f"`zoo embed {path} TEXT ...` embeds texts with it" if task == EMBEDDING
               else "evaluate the run directory it was exported from instead")
        raise ValueError(f"{path} is the export of {EXPORT_READERS[task][0]}: zoo evaluate scores classifiers' "
                         f"exports; {fix}")
    if generating:
        raise ValueError(f"{path} is a classifier's export: method, num_beams, max_new_tokens and limit apply to lm "
                         "and seq2seq runs")
    if data is None:
        raise ValueError(f"{path} is an export, which holds no data: pass data= (--data) labelled texts to score it "
                         "on, or evaluate the run directory it was exported from on its own test split")
    out_dir = default_report_dir(path) if out_dir is None else Path(out_dir)
    check_output(out_dir, OUT_DIR_FIX)  # before the model loads and the texts are scored
    config = read_run_config(path)
    # Files are read as the run read its own (columns, header, delimiter, label separator), as for a run directory.
    options = load_options if config is None else options_like_run(config, "classification", load_options)
    check_export_threshold(path, metadata, threshold, "evaluate the run directory with --threshold")
    _check_mistakes(mistakes, metadata.get("mode"), f"{path} is a multi-label model's export")
    predictor = load_predictor(path)
    examples, source = data_split(data, split, {"label_names": predictor.label_names, **options})
    _check_examples(examples, source, predictor.label_names, predictor.pairs, "export")
    if config is not None:  # an export made without its run's config cannot say what it trained on
        warn_trained_on(path, config, examples, exported=True)
    spec = read_model_spec(path / EXTRA_DIR)
    model = run_model_name(path / EXTRA_DIR) if "name" in spec else metadata["model_name"]
    return score_predictor(predictor, examples.inputs, examples.labels, out_dir=out_dir, batch_size=batch_size,
                           mistakes=mistakes, progress=progress, info={"export": str(path), "data": source,
                                                                       "model": model})


def _check_mistakes(mistakes, mode, what):
    """Refuse a count of mistakes (``--mistakes``) for a ``multilabel`` model, whose report lists none (the count
    was ignored); ``what`` says what was evaluated."""
    if mistakes is not None and mode == "multilabel":
        raise ValueError(f"mistakes (--mistakes) lists a single-label classifier's most confident mistakes; {what}, "
                         "whose report lists none: leave it out")


def default_report_dir(path):
    """Where ``zoo evaluate PATH`` writes its report by default: ``<run_dir>/evaluation``, or for an export
    ``evaluations/<name>/<version>`` (a SavedModel's folder is the server's).

    Example:
        >>> default_report_dir("runs/reviews"), default_report_dir("saved_models/reviews")
        (PosixPath('runs/reviews/evaluation'), PosixPath('evaluations/reviews/1'))
    """
    from zoo.evaluation.reports import REPORT_DIR
    from zoo.export.predict import find_saved_model
    from zoo.export.saved_model import read_metadata

    exported = find_saved_model(path) if Path(path).is_dir() else None
    if exported is None:
        return Path(path) / REPORT_DIR
    metadata = read_metadata(exported)
    return Path("evaluations") / metadata["name"] / str(metadata["version"])


def summarize_folds(fold_metrics):
    """Mean and standard deviation over folds of the headline metrics.

    Args:
        fold_metrics: one :func:`classification_metrics` dict per fold.

    Returns:
        ``{metric: {"mean", "std", "values"}}`` (``fold_stats``) for accuracy, log-loss, macro / weighted F1 (and
        ROC-AUC, average precision and a multi-label model's Hamming loss when every fold has them).

    Example:
        >>> from zoo.evaluation.metrics import classification_metrics
        >>> m1 = classification_metrics([0, 1], [[0.9, 0.1], [0.3, 0.7]], ["neg", "pos"])
        >>> m2 = classification_metrics([0, 1], [[0.4, 0.6], [0.3, 0.7]], ["neg", "pos"])
        >>> summarize_folds([m1, m2])["accuracy"]
        {'mean': 0.75, 'std': 0.35..., 'values': [1.0, 0.5]}
    """
    keys = {
        "accuracy": lambda m: m["accuracy"],
        "log_loss": lambda m: m["log_loss"],
        "macro_f1": lambda m: m["averages"]["macro"]["f1"],
        "weighted_f1": lambda m: m["averages"]["weighted"]["f1"],
    }
    for name in ("roc_auc", "average_precision", "hamming_loss"):
        if all(m.get(name) is not None for m in fold_metrics):
            keys[name] = lambda m, name=name: m[name]
    return {name: fold_stats([get(m) for m in fold_metrics]) for name, get in keys.items()}


def fold_stats(values):
    """``{"mean", "std", "values"}`` of one number per fold; the standard deviation is the sample one (ddof=1), as
    cross-validation results are usually reported.

    Example:
        >>> fold_stats([0.5, 1.0])
        {'mean': 0.75, 'std': 0.35..., 'values': [0.5, 1.0]}
    """
    values = np.array(values, dtype=np.float64)
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(values.mean()), "std": std, "values": values.tolist()}
