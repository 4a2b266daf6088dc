"""``zoo evaluate``, ``zoo explain``, ``zoo generate`` and ``zoo cv`` sub-commands: argument parsing only.

``zoo.cli`` lists ``add_evaluate_command``, ``add_explain_command``, ``add_generate_command`` and
``add_cv_command`` in its ``COMMANDS``; each sets ``handler`` to a function ``(args) -> exit status`` (status 2
with one message on stderr for errors a user can cause).
"""
import shlex
import sys
from pathlib import Path

from zoo.cli_options import DATA, PRETRAINED, add_config_options, config_overrides
from zoo.decoding import DEFAULT_NUM_BEAMS, DEFAULT_TEMPERATURE, METHODS, SCORED_METHODS
from zoo.evaluation.runner import DEFAULT_MISTAKES
from zoo.export.cli import add_text_inputs, check_text_inputs, read_input, trained_reading, user_errors

# The zoo.data.load options that zoo evaluate sets for --data files, and their flags.
DATA_FLAGS = {"text_column": "--text-column", "label_column": "--label-column", "encoding": "--encoding",
              "on_bad_rows": "--on-bad-rows"}


def add_evaluate_command(subparsers):
    """Add ``zoo evaluate RUN_DIR [--data SPEC] [--out DIR] [--method greedy|beam] [--limit N]``.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(prog="zoo")
        >>> add_evaluate_command(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["evaluate", "runs/demo", "--limit", "5"]).limit
        5
    """
    parser = subparsers.add_parser(
        "evaluate", help="metrics, report.md/report.json and plots for a training run",
        description="Evaluate a run on its held-out test split (or --data), or a classifier's export on --data. "
                    "Classifiers are scored through the same graph the export serves; lm, mlm and seq2seq runs get "
                    "perplexity, and lm and seq2seq runs BLEU, ROUGE and exact match of their generations. Writes "
                    "report.json, report.md and PNG plots.",
    )
    parser.add_argument("run_dir", help="a run directory written by zoo train, or a classifier's export "
                                        "(saved_models/NAME[/VERSION]; needs --data)")
    parser.add_argument("--data", help="labelled data to evaluate on (a zoo.data.load spec: mr, a .csv/.jsonl/.parquet "
                                       "path, ...; seq2seq: source/target columns); default: the run's own "
                                       "test split")
    parser.add_argument("--split", choices=("test", "validation", "train"),
                        help="the run's own test or validation split (default: test); with --data, an official "
                             "split of the data (a TREC folder's, a folder of train/validation/test files; default: "
                             "test)")
    parser.add_argument("--text-column", help="text column/key of --data files, a sentence pair's two as A,B "
                                              "(default: the run's)")
    parser.add_argument("--label-column", help="label column/key of --data files (default: the run's)")
    parser.add_argument("--encoding", help="encoding of --data files")
    parser.add_argument("--on-bad-rows", choices=("error", "skip"),
                        help="a --data row without text or label: error (default), or skip it (a warning counts them)")
    parser.add_argument("--out", help="report directory (default: RUN_DIR/evaluation, for an export "
                                      "evaluations/NAME/VERSION); an earlier report's "
                                      "files in it are replaced, other files left alone")
    parser.add_argument("--mistakes", type=int,
                        help=f"a single-label classifier's most confident mistakes to list (default: "
                             f"{DEFAULT_MISTAKES})")
    parser.add_argument("--batch-size", type=int, default=256, help="texts per model call")
    parser.add_argument("--method", choices=SCORED_METHODS, default="greedy",
                        help="decoding for lm and seq2seq runs (default: greedy)")
    parser.add_argument("--num-beams", type=int, help=f"beam width with --method beam (default: {DEFAULT_NUM_BEAMS})")
    parser.add_argument("--max-new-tokens", type=int,
                        help="most tokens to generate (default: an lm's reference length + 1, a seq2seq run's "
                             "sequence_length; never more than the model's positions hold)")
    parser.add_argument("--limit", type=int, help="generate for the first N examples only (perplexity still "
                                                  "covers all)")
    parser.add_argument("--threshold", type=float, help="a classifier's decision threshold, as zoo export "
                                                        "--threshold serves it: two classes, the second class's "
                                                        "probability from which it is predicted (default: the most "
                                                        "probable class); multi-label, each label's (default 0.5)")
    parser.set_defaults(handler=run_evaluate)


@user_errors("evaluate")
def run_evaluate(args):
    """Run ``zoo evaluate`` from parsed arguments; prints the headline numbers and the report path."""
    from zoo.evaluation.runner import default_report_dir, evaluate

    import zoo.data

    options = {name: getattr(args, name) for name in DATA_FLAGS if getattr(args, name) is not None}
    if "," in options.get("text_column", ""):
        # A pair's two columns, as zoo predict --text-field A,B names them: zoo.data.load takes them as a list.
        options["text_column"] = options["text_column"].split(",")
    if args.data is not None and args.encoding is None:
        # The run's own training file reads as training read it, in its encoding; another file keeps detecting its
        # own (zoo.training.data.file_layout_options says why the run's is not passed on to every file).
        encoding = trained_reading(args.run_dir, args.data)[2]
        if encoding:
            options["encoding"] = encoding
    try:
        report = evaluate(args.run_dir, args.data, split=args.split, out_dir=args.out, batch_size=args.batch_size,
                          mistakes=args.mistakes, method=args.method, num_beams=args.num_beams,
                          max_new_tokens=args.max_new_tokens, limit=args.limit, threshold=args.threshold,
                          **options)
    except zoo.data.DataError as err:
        if _unlabelled_lines(err, args):
            # zoo.data's message is training's (such a file feeds zoo pretrain); here it is a file to predict on.
            raise ValueError(f"{err.path}: one text per line and no labels, which zoo evaluate cannot score: it "
                             "compares a classifier's predictions with labels (a .csv/.tsv/.jsonl/.parquet file with "
                             "a label column, --label-column naming it); a file without labels is scored with zoo "
                             f"predict {shlex.quote(args.run_dir)} --input {shlex.quote(args.data)}") from None
        flags = [DATA_FLAGS[name] for name in err.options if name in DATA_FLAGS]
        if args.data is not None and flags:  # the fix names zoo.data.load's arguments: say which flags set them
            err.add_note(f"on the command line: {' / '.join(flags)}")
        remedy = _data_remedy(err, args)
        if remedy:
            err.add_note(remedy)
        raise
    out = Path(args.out) if args.out else default_report_dir(args.run_dir)
    print(f"{_headline(report)}\nreport: {out / 'report.md'}")
    best = report["metrics"].get("best_f1_threshold")
    if best:
        second = report["metrics"]["label_names"][1]
        cut = f"{best['threshold']:.4g}"
        serve = (f"exporting its run with --threshold {cut} labels by it" if "export" in report["info"] else
                 f"zoo export {shlex.quote(str(args.run_dir))} --threshold {cut} labels by it")
        print(f"best F1 of {second} here: {best['f1']:.4f} at threshold {cut} (precision {best['precision']:.4f}, "
              f"recall {best['recall']:.4f}): {serve}{_where_to_choose_a_threshold(args, report)}")
    return 0


def _data_remedy(err, args):
    """What else resolves ``err``, a ``DataError`` of ``--data``: scoring texts without labels with zoo predict,
    or skipping a bad row; ``None`` for other errors."""
    import zoo.data

    if args.data is None:
        return None
    if isinstance(err, zoo.data.MissingColumnError) and "label_column" in err.options:
        return (f"a file without labels is scored with zoo predict {shlex.quote(args.run_dir)} --input "
                f"{shlex.quote(args.data)}")
    # An error that names on_bad_rows is one skipping does not fix, as zoo.training.data.naming_config_keys reads it.
    if isinstance(err, zoo.data.BadRowError) and args.on_bad_rows is None and "on_bad_rows" not in str(err):
        return "fix or remove that row, or pass --on-bad-rows skip to leave out such rows (a warning counts them)"
    return None


def _unlabelled_lines(err, args):
    """Whether ``err`` refuses ``--data`` as a ``.txt`` file of unlabelled texts, one per line (not TREC's)."""
    import zoo.data
    from zoo.data.sources import format_suffix

    # Its other refusals name the option at fault (text_column=, split=); this one none.
    return (args.data is not None and isinstance(err, zoo.data.DataSpecError) and not err.options
            and err.path is not None and format_suffix(Path(err.path)) == ".txt")


def _where_to_choose_a_threshold(args, report):
    """Where to choose the threshold ``zoo evaluate`` found, unless it was found there: chosen on the test split
    it would be tuned on the very texts it is then scored on. A validation split is named only where there is one:
    ``--data``'s official one, else the run's own."""
    import zoo.data
    from zoo.training.run import held_out_splits

    if args.split == "validation":
        return ""
    if args.data is not None and "validation" in zoo.data.official_splits(args.data):
        return "; choose it on --split validation"
    # An export holds no split out.
    run_has_one = "export" not in report["info"] and "validation" in held_out_splits(args.run_dir)
    if run_has_one and args.data is None:
        return "; choose it on --split validation"
    if run_has_one:
        run = shlex.quote(args.run_dir)
        return f"; choose it on the run's validation split (zoo evaluate {run} --split validation)"
    return "; choose it on labelled texts other than those it is scored on (--data FILE)"


def _headline(report):
    from zoo.evaluation.metrics import absent_classes, accuracy_name, decision_rule, roc_auc_undefined
    from zoo.evaluation.runner import TRUNCATED

    m = report["metrics"]
    if "perplexity" in m:
        line = f"{report['info']['examples']:,} examples: perplexity {m['perplexity']:.4f} ({m['tokens']:,} tokens)"
        generation = report["info"].get("generation")
        if generation:
            line += (f"; {generation['examples']:,} generated ({generation['method']}): BLEU {m['bleu']:.2f}, "
                     f"ROUGE-L {m['rougeL']:.4f}, exact match {m['exact_match']:.4f}")
        return line
    absent = absent_classes(m)
    # Said where it matters: the macro average leaves out the classes without an example (metrics.py says why).
    without = f" (over the classes present; no example of {', '.join(absent)})" if absent else ""
    line = (f"{accuracy_name(m)} {m['accuracy']:.4f}, macro F1 {m['averages']['macro']['f1']:.4f}{without}, "
            f"log-loss {m['log_loss']:.4f}")
    if m.get("roc_auc") is not None:
        line += f", ROC-AUC {m['roc_auc']:.4f}"
    elif len(m["label_names"]) == 2 and not m["multilabel"]:  # where one was expected: say why there is none
        line += f", no ROC-AUC ({roc_auc_undefined(m)})"
    if m.get("average_precision") is not None:
        line += f", average precision {m['average_precision']:.4f}"
    rule = decision_rule(m["label_names"], m.get("threshold"), "multilabel" if m["multilabel"] else "multiclass")
    line = f"{m['num_examples']:,} examples{rule}: {line}"
    cut = report["info"].get(TRUNCATED)
    if cut:
        line += (f"\n{cut:,} of {m['num_examples']:,} texts had more tokens than the model reads and were scored on "
                 "what fits, cut as training cut them")
    return line


def add_explain_command(subparsers):
    """Add ``zoo explain RUN_DIR TEXT [TEXT_B] [--out DIR]``.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(prog="zoo")
        >>> add_explain_command(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["explain", "runs/demo", "a gripping film", "--out", "explained"]).out
        'explained'
    """
    parser = subparsers.add_parser(
        "explain", help="attention heat-maps and token importance for one text",
        description="Write one attention heat-map PNG per layer (a panel per head), a word-importance chart "
                    "from attention rollout, and explanation.json with the arrays. WordPiece pieces are merged "
                    "back into their words.",
    )
    parser.add_argument("run_dir", help="a run directory written by zoo train")
    parser.add_argument("text", help="the text to explain (the first text of a sentence pair)")
    parser.add_argument("text_b", nargs="?", help="the second text, for a sentence-pair run")
    parser.add_argument("--out", help="output directory (default: RUN_DIR/explanations/<the text's first words>-"
                                      "<hash>, a folder per text); an earlier explanation's files in it are replaced")
    parser.set_defaults(handler=run_explain)


@user_errors("explain")
def run_explain(args):
    """Run ``zoo explain`` from parsed arguments; prints the prediction and the most important tokens."""
    from zoo.data.special_tokens import SPECIAL_TOKENS
    from zoo.evaluation.attention import explain_run, explanation_dir
    from zoo.evaluation.metrics import MULTILABEL_THRESHOLD

    out = args.out or explanation_dir(args.run_dir, args.text, args.text_b)
    e = explain_run(args.run_dir, args.text, text_pair=args.text_b, out_dir=out)
    top = e.most_attended(5)
    best = max(range(len(e.label_names)), key=lambda i: e.probabilities[i])
    # A multi-label model predicts no label when no class reaches the threshold (its label is then "").
    answer = (", ".join(f"{e.label_names[i]} ({e.probabilities[i]:.3f})" for i in e.predicted) if e.predicted else
              f"no label (none at or over {MULTILABEL_THRESHOLD}; the highest is {e.label_names[best]} "
              f"{e.probabilities[best]:.3f})")
    # A word the vocabulary lacks is shown as written (WordPiece's as [UNK]), but the model read [UNK] there.
    unknown = {word for word, flag in zip(e.words, e.unknown_words) if flag}
    unk = SPECIAL_TOKENS["unk"]
    listed = ", ".join(f"{word}{f' {unk}' if word in unknown and word != unk else ''} {weight:.2f}"
                       for word, weight in top)
    unread = sum(word in unknown for word, _ in top)
    note = f" ({unread} of them not in the model's vocabulary: it read {unk} for each)" if unread else ""
    print(f"predicted {answer}; most attended words: {listed}{note}")
    print(f"heat-maps and explanation.json in {out}")
    return 0


def add_generate_command(subparsers):
    """Add ``zoo generate RUN_DIR (TEXT ... | --input FILE) [--method greedy|beam] [--max-new-tokens N]``.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(prog="zoo")
        >>> add_generate_command(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["generate", "runs/reverse", "alpha beta", "--method", "beam"]).num_beams is None
        True
    """
    parser = subparsers.add_parser(
        "generate", help="generate text with an lm or seq2seq run",
        description="Generate with an lm run (it continues each text) or a seq2seq run (its output for each "
                    "source text). The texts come from the command line or --input (as zoo predict reads them); "
                    "each result prints as one JSON object per line: text, generated (the tokens as text, "
                    "cleaned as training cleaned them), empty_input, truncated.",
    )
    parser.add_argument("run_dir", help="a run directory written by zoo train for an lm or seq2seq model")
    add_text_inputs(parser, "prompts (lm) or source texts (seq2seq)")
    parser.add_argument("--method", choices=METHODS, default="greedy", help="decoding (default: greedy)")
    parser.add_argument("--num-beams", type=int, help=f"beam width with --method beam (default: {DEFAULT_NUM_BEAMS})")
    parser.add_argument("--max-new-tokens", type=int,
                        help="most tokens to generate per text (default: as many as the run's sequence_length allows)")
    parser.add_argument("--temperature", type=float,
                        help=f"softmax temperature with --method sample (default: {DEFAULT_TEMPERATURE:g})")
    parser.add_argument("--top-k", type=int, help="with --method sample: sample among the k likeliest tokens only")
    parser.add_argument("--top-p", type=float, help="with --method sample: sample within the likeliest tokens whose "
                                                    "probability reaches p (nucleus sampling)")
    parser.add_argument("--seed", type=int, help="seed of --method sample (default: another draw each run)")
    parser.add_argument("--batch-size", type=int, default=256, help="texts per model call (default: 256)")
    parser.add_argument("--output", help="results file: .jsonl, .csv or .parquet (default: JSON lines on stdout)")
    parser.set_defaults(handler=run_generate)


@user_errors("generate")
def run_generate(args):
    """Run ``zoo generate`` from parsed arguments; prints one JSON object per text."""
    import json

    from zoo.evaluation.generation import generate_texts
    from zoo.export.predict import check_output_path, with_input_columns, write_rows

    check_text_inputs(args)
    if args.output:
        check_output_path(args.output, args.input)  # before the model loads and the texts are generated from
    texts, columns = read_input(args, purpose="generate from") if args.input else (args.texts,
                                                                                     [{}] * len(args.texts))
    rows = generate_texts(args.run_dir, texts, method=args.method, num_beams=args.num_beams,
                          max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                          top_p=args.top_p, seed=args.seed, batch_size=args.batch_size, progress=bool(args.input))
    if args.output:
        write_rows(args.output, with_input_columns(rows, columns))
        print(f"wrote {len(rows)} generated texts to {args.output}", file=sys.stderr)
    else:
        for row in with_input_columns(rows, columns):
            print(json.dumps(row, ensure_ascii=False))
    for flag, what in (("empty_input", "had no token left after cleaning: nothing was generated from them"),
                       ("replaced_bytes", "held bytes that are not UTF-8, replaced by U+FFFD before generating "
                                          "(pass --encoding if the input is not UTF-8)"),
                       ("truncated", "had more tokens than the run reads: each was generated from what fits")):
        count = sum(row[flag] for row in rows)
        if count:
            print(f"warning: {count} of {len(rows)} texts {what}; flagged {flag}", file=sys.stderr)
    return 0


def add_cv_command(subparsers):
    """Add ``zoo cv [--config FILE] [--folds K] [--set key=value ...]``.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(prog="zoo")
        >>> add_cv_command(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["cv", "--folds", "5"]).folds
        5
    """
    parser = subparsers.add_parser(
        "cv", help="k-fold cross-validation of a training config (mean ± std)",
        description="Train and evaluate on k stratified folds of data.source; writes cv.json and cv.md.",
    )
    parser.add_argument("--config", help="run config (.yaml or .json); default: zoo's defaults")
    add_config_options(parser, DATA, PRETRAINED)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set training.epochs=5 (repeatable, each key once)")
    parser.add_argument("--folds", type=int, default=10, help="number of folds (default: 10)")
    parser.add_argument("--seed", type=int, help="fold-assignment seed (default: training.seed)")
    parser.add_argument("--out", help="output directory (default: runs/<data>-<model>-cv<folds>)")
    parser.set_defaults(handler=run_cv, interrupted="interrupted (Ctrl-C); rerun the same command to go on: finished "
                                                    "folds are reused and an interrupted one resumes")


@user_errors("cv")
def run_cv(args):
    """Run ``zoo cv`` from parsed arguments; prints mean ± std of each metric."""
    from zoo.console import EXIT_FAILED, error, exit_status_for_signal
    from zoo.evaluation.cross_validation import cross_validate, metric_title
    from zoo.training import NonFiniteLossError, TrainingInterrupted

    try:
        overrides = config_overrides(args, DATA, PRETRAINED, assignments=args.overrides) + args.overrides
        result = cross_validate(args.config, folds=args.folds, overrides=overrides, out_dir=args.out, seed=args.seed)
    except TrainingInterrupted as err:  # a fold's run saved where to resume from: its message says so
        error("cv", err)
        return exit_status_for_signal(err.signal_number)
    except NonFiniteLossError as err:
        error("cv", err)
        return EXIT_FAILED
    for name, stats in result["summary"].items():
        print(f"{metric_title(name, result)}: {stats['mean']:.4f} ± {stats['std']:.4f}")
    print(f"{args.folds}-fold report: {result['out_dir']}/cv.md", file=sys.stderr)
    return 0
