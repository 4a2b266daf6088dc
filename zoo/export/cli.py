"""``zoo export``, ``zoo predict`` and ``zoo embed`` sub-commands: argument parsing only, the work is in the API.

``zoo.cli`` lists ``add_export_command``, ``add_predict_command`` and ``add_embed_command`` in its ``COMMANDS``;
each sets
``handler`` to a function ``(args) -> exit status``. Errors users can cause (``ValueError``, an output path
that cannot be written included, and ``FileNotFoundError``) print ``zoo <command>: error: ...`` and exit
with status 2.
"""
import functools
import json
import sys
from pathlib import Path

from zoo.console import EXIT_USAGE, error


def user_errors(command):
    """Decorate a handler so that errors a user can cause become one message on stderr and exit status 2."""
    def decorate(handler):
        @functools.wraps(handler)
        def run(args):
            try:
                return handler(args)
            except (ValueError, FileNotFoundError) as err:
                given = getattr(args, "run_dir", None) or getattr(args, "model_dir", None)
                finish = unfinished_run(given) if isinstance(err, FileNotFoundError) else None
                error(command, f"{err}; {finish}" if finish else err)
                return EXIT_USAGE
        return run
    return decorate


def unfinished_run(run_dir):
    """Say how to finish the run in ``run_dir`` when training it stopped before the end, else return ``None``.

    A run directory gets its ``config.yaml`` first and its model and ``metrics.json`` last, so one with a
    config and no metrics is a run that was interrupted (or failed): ``zoo train`` with that config and
    directory resumes it from its last checkpoint, or trains it afresh when it had none.

    Example:
        >>> _ = Path("runs/cut/checkpoints").mkdir(parents=True)
        >>> _ = Path("runs/cut/config.yaml").write_text("output:\\n  dir: runs/cut\\n")
        >>> _ = Path("runs/cut/checkpoints/ckpt-240.index").write_text("")
        >>> unfinished_run("runs/cut")
        'runs/cut holds an unfinished run: finish it with zoo train --config runs/cut/config.yaml --output runs/cut \
--set output.overwrite=false (it resumes from its last checkpoint)'
    """
    import shlex

    if run_dir is None:
        return None
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file() or (run_dir / "metrics.json").is_file():
        return None
    resumes = ("it resumes from its last checkpoint" if any((run_dir / "checkpoints").glob("ckpt-*.index"))
               else "it has no checkpoint: training starts afresh")
    return (f"{run_dir} holds an unfinished run: finish it with zoo train --config "
            f"{shlex.quote(str(run_dir / 'config.yaml'))} --output {shlex.quote(str(run_dir))} "
            f"--set output.overwrite=false ({resumes})")


def add_text_inputs(parser, what, from_run=True):
    """Declare the texts a command reads: positional ``texts`` (described as ``what``), or ``--input`` with
    ``--text-field`` and ``--encoding`` (see ``zoo.export.predict.read_texts``); ``from_run``: the model has a run,
    whose text column(s) are ``--text-field``'s default, and may read pairs."""
    parser.add_argument("texts", nargs="*", help=what)
    parser.add_argument("--input", help="file of texts: .txt, .csv, .tsv, .jsonl or .parquet, the others but parquet "
                                        "also compressed (.gz, .bz2, .xz: texts.csv.gz); - reads standard input, one "
                                        "text per line")
    field = ("text column (CSV/TSV, parquet) or key (JSONL) of --input, A,B for a sentence pair; default: the one "
             "the run trained on, else text (text_a,text_b)") if from_run else \
        "text column (CSV/TSV, parquet) or key (JSONL) of --input; default: text"
    parser.add_argument("--text-field", help=field)
    parser.add_argument("--encoding", help="--input file encoding (default: from a UTF-16/UTF-32 byte-order "
                        "mark, else utf-8)")


def check_text_inputs(args):
    """Raise ``PredictInputError`` unless exactly one of ``add_text_inputs``'s texts and ``--input`` is given, and
    ``--text-field`` and ``--encoding`` only with ``--input``."""
    from zoo.export.predict import PredictInputError

    if bool(args.texts) == bool(args.input):
        raise PredictInputError("give texts on the command line or --input FILE (exactly one of them)")
    # They say how to read a file: beside texts on the command line they would be ignored without a word.
    given = [flag for flag, value in (("--text-field", args.text_field), ("--encoding", args.encoding))
             if value is not None]
    if given and not args.input:
        verb, them = ("applies", "it") if len(given) == 1 else ("apply", "them")
        raise PredictInputError(f"{' and '.join(given)} {verb} to --input FILE; texts on the command line are read "
                                f"as they are: leave {them} out")


def read_input(args, pairs=False, purpose="predict"):
    """The texts of ``add_text_inputs``'s ``--input`` file (pairs for a sentence-pair model) with each row's other
    columns, as ``zoo.export.predict.InputRows``, read as the model's run read its training file so that this file
    reads as it is: without ``--text-field``, the column(s) it read its texts from (``data.load_options.text_column``;
    a seq2seq run's ``source``), else ``text`` (a pair's ``text_a`` and ``text_b``); a CSV/TSV file without a header
    row where the run's had none (``header: false``), its columns then by index, unless ``--text-field`` names a
    column; and without ``--encoding``, the run's ``encoding`` where the file is the run's training file
    (``data.source``); another file may be encoded otherwise, and its own byte-order mark or UTF-8 decides.
    ``purpose`` says what the texts are for, in the error for a file without any."""
    from zoo.data.sources import format_suffix
    from zoo.export.predict import STDIN, read_rows

    field, header, encoding = args.text_field, True, args.encoding
    # A .txt file's lines are the texts: it has no columns to choose from, nor a header.
    if args.input != STDIN and format_suffix(Path(args.input)) != ".txt":
        columns, header, run_encoding = trained_reading(
            next(getattr(args, name) for name in MODEL_ARGUMENTS if hasattr(args, name)), args.input)
        if format_suffix(Path(args.input)) not in (".csv", ".tsv"):
            header = True  # only a CSV/TSV file may lack a header row; the others' texts are named
        if field is None:
            # Indices name a header-less file's columns only; names a header's, or a JSONL or parquet file's keys.
            if columns and all(isinstance(c, str if header else int) for c in columns):
                field = ",".join(str(c) for c in columns)
        elif not field.replace(",", "").isdecimal():
            header = True  # a column named: the file has a header row with that name
        encoding = encoding or run_encoding
    return read_rows(args.input, text_field=field, encoding=encoding, pairs=pairs, header=header, purpose=purpose)


# The argument naming the model of zoo predict, zoo generate and zoo embed.
MODEL_ARGUMENTS = ("model_dir", "run_dir", "checkpoint")


def trained_reading(path, input_path):
    """How the run of ``path`` (a run directory or its export) read its training file: its text column(s) (names
    or indices; ``()`` where none is set), whether its CSV/TSV files have a header row, and its encoding where
    ``input_path`` is that file (``data.source``), else None. ``((), True, None)`` for a checkpoint folder."""
    from zoo.config import Config
    from zoo.export.predict import find_saved_model
    from zoo.export.saved_model import read_run_config
    from zoo.training.data import load_options, task_of_config

    path = Path(path)
    exported = find_saved_model(path) if path.is_dir() else None
    if exported is not None:
        config = read_run_config(exported)
    else:
        config = Config.load(path / "config.yaml") if (path / "config.yaml").is_file() else None
    if config is None:
        return (), True, None
    options = load_options(config, task_of_config(config))
    column = options.get("text_column")
    columns = (column,) if isinstance(column, (str, int)) and not isinstance(column, bool) else \
        tuple(column) if isinstance(column, (list, tuple)) else ()
    return columns, options.get("header") is not False, options.get("encoding") if _is_training_file(
        config.data.source, input_path) else None


def _is_training_file(source, input_path):
    """Whether ``input_path`` is the file ``source`` (a run's ``data.source``, read from the working directory as
    training read it) names; a data set's name (``mr``) names no file given as input."""
    if not isinstance(source, str):
        return False
    try:
        return Path(source).expanduser().is_file() and Path(source).expanduser().samefile(input_path)
    except OSError:  # the input is missing: read_rows names it
        return False


THRESHOLD_HELP = ("a two-class classifier: the second class's probability from which it is the label (default: the "
                  "most probable class); a multi-label one: each label's (default 0.5)")


def add_export_command(subparsers):
    """Add ``zoo export RUN_DIR [--out PATH | --name NAME]``.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(prog="zoo")
        >>> add_export_command(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["export", "runs/reviews", "--name", "reviews-v2"])
        Namespace(command='export', run_dir='runs/reviews', out=None, name='reviews-v2', max_new_tokens=None,
                  threshold=None, sequence_length=None, handler=<function run_export at 0x...>)
    """
    parser = subparsers.add_parser(
        "export", help="export a training run as a SavedModel that takes raw strings",
        description="Export a run as a TensorFlow SavedModel in TF Serving's layout (saved_models/<name>/<n>/). "
                    "Its serving_default signature takes raw strings; a classifier's serve_token_ids takes token "
                    "ids. An lm or seq2seq run's export generates text greedily; a checkpoint folder's embeds "
                    "sentences as zoo embed does.",
    )
    parser.add_argument("run_dir", help="a run directory written by zoo train, or a pretrained checkpoint folder "
                                        "(exported as a sentence embedder)")
    # --out names the model directory itself, so a --name beside it would be ignored: argparse refuses the two.
    destination = parser.add_mutually_exclusive_group()
    destination.add_argument("--out", help="saved_models/NAME/VERSION, or a model directory that gets the next "
                                           "version (default: saved_models/<run name>/<next version>)")
    destination.add_argument("--name", help="model name under saved_models/ (default: the run directory's name)")
    parser.add_argument("--max-new-tokens", type=int, help="an lm or seq2seq run: most tokens its export generates "
                                                           "per text (default: the run's sequence_length)")
    parser.add_argument("--threshold", type=float, help=f"{THRESHOLD_HELP} of the export's label")
    parser.add_argument("--sequence-length", type=int, help="a checkpoint folder: most tokens per text its embedder "
                                                            "reads, [CLS] and [SEP] included (default: the "
                                                            "checkpoint's max_seq_length)")
    parser.set_defaults(handler=run_export)


@user_errors("export")
def run_export(args):
    """Run ``zoo export`` from parsed arguments; prints where the model went."""
    from zoo.export.saved_model import export_run

    result = export_run(args.run_dir, out=args.out, name=args.name, max_new_tokens=args.max_new_tokens,
                        threshold=args.threshold, sequence_length=args.sequence_length)
    meta = result.metadata
    if meta["task"] == "classification":
        from zoo.evaluation.metrics import decision_rule

        holds = f"labels {meta['label_names']}{decision_rule(meta['label_names'], meta['threshold'], meta['mode'])}"
    elif meta["task"] == "embedding":
        holds = (f"sentence embeddings of {meta['dimensions']} dimensions, {meta['pooling']['mode']}-pooled"
                 f"{', unit length' if meta['pooling']['normalize'] else ''}; zoo embed reads it")
    else:
        holds = (f"{meta['task']}: generates greedily, up to {meta['max_new_tokens']} tokens per text; zoo generate "
                 "reads it")
    print(f"exported {args.run_dir} to {result.path} (version {result.version}, {holds})")
    if meta["requires_tensorflow_text"]:
        print(f"note: the graph uses tensorflow-text ops ({', '.join(meta['custom_ops'])}); "
              "load it after `import tensorflow_text` (stock TF Serving cannot)")
    return 0


def add_predict_command(subparsers):
    """Add ``zoo predict MODEL_DIR (TEXT ... | --input FILE) [--output FILE]``.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(prog="zoo")
        >>> add_predict_command(parser.add_subparsers(dest="command"))
        >>> args = parser.parse_args(["predict", "saved_models/reviews", "a gripping, funny film"])
        >>> args.handler(args)
        {"text": "a gripping, funny film", "label": "positive", "label_id": 1, "probabilities": {...}, ...}
        0
    """
    parser = subparsers.add_parser(
        "predict", help="predict labels with an exported model or a run directory",
        description="Predict with saved_models/<name>[/<n>] (newest version by default) or a run directory. "
                    "The texts come from the command line or --input, a .txt (one text per line), .csv/.tsv "
                    "(with a header), .jsonl or .parquet file (the others but parquet also compressed: texts.csv.gz); "
                    "the predictions print as one JSON object per line, or go to --output, each with its input "
                    "row's other columns (an id, say; input_<name> where the output has that name). A sentence-pair "
                    "model takes its texts two at a time (TEXT_A TEXT_B ...), or the text_a and text_b columns of "
                    "--input.",
    )
    parser.add_argument("model_dir", help="exported model (version or model directory) or run directory")
    add_text_inputs(parser, "texts to classify")
    parser.add_argument("--output", help="predictions file: .jsonl, .csv or .parquet (default: JSON lines on stdout)")
    parser.add_argument("--batch-size", type=int, help="texts per model call (default: 64)")
    parser.add_argument("--threshold", type=float, help=f"a run directory: {THRESHOLD_HELP} (an export decides as "
                                                        "it was exported: zoo export --threshold)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run_predict)


@user_errors("predict")
def run_predict(args):
    """Run ``zoo predict`` from parsed arguments."""
    from zoo.export.predict import (DEFAULT_BATCH_SIZE, PredictInputError, check_output_path, load_predictor,
                                    with_input_columns, write_predictions)

    batch_size = DEFAULT_BATCH_SIZE if args.batch_size is None else args.batch_size
    check_text_inputs(args)
    if args.output:
        check_output_path(args.output, args.input)  # before the model loads and the texts are predicted
    predictor = load_predictor(args.model_dir, threshold=args.threshold)
    columns = None
    if args.input:
        texts, columns = read_input(args, pairs=predictor.pairs)
    elif predictor.pairs:
        if len(args.texts) % 2:
            raise PredictInputError(f"a sentence-pair model takes texts two at a time (TEXT_A TEXT_B ...); got "
                                    f"{len(args.texts)} texts")
        texts = list(zip(args.texts[::2], args.texts[1::2]))
    else:
        texts = args.texts
    predictions = predictor.predict(
        texts, batch_size=batch_size, progress=bool(args.input) and not args.no_progress)
    if args.output:
        write_predictions(args.output, texts, predictions, columns)
        print(f"wrote {len(texts)} predictions to {args.output}", file=sys.stderr)
        return 0
    for record in with_input_columns(predictions.records(texts), columns or [{}] * len(texts)):
        print(json.dumps(record, ensure_ascii=False))
    return 0


def add_embed_command(subparsers):
    """Add ``zoo embed CHECKPOINT (TEXT ... | --input FILE) [--output FILE]``.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(prog="zoo")
        >>> add_embed_command(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["embed", "checkpoints/all-MiniLM-L6-v2", "a film", "--output", "e.npy"]).output
        'e.npy'
    """
    parser = subparsers.add_parser(
        "embed", help="sentence embeddings from a pretrained checkpoint folder",
        description="Embed texts with a BERT checkpoint folder, pooled as its sentence-transformers files say "
                    "(all-MiniLM-L6-v2: the mean of the real tokens, unit length, so cosine similarity is a dot "
                    "product). One JSON object per text (text, embedding, empty_input, replaced_bytes, truncated, and "
                    "the input row's other columns), or --output FILE.npy (the vectors, in input order) or "
                    "FILE.jsonl.",
    )
    parser.add_argument("checkpoint", help="a Hugging Face or keras-hub BERT checkpoint folder, or its export "
                                           "(zoo export CHECKPOINT)")
    add_text_inputs(parser, "texts to embed", from_run=False)
    parser.add_argument("--output", help="vectors file: .npy (an [N, d] float32 array) or .jsonl")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per model call (default: 64)")
    parser.add_argument("--sequence-length", type=int, help="most tokens per text, [CLS] and [SEP] included "
                        "(default: the checkpoint's max_seq_length)")
    parser.set_defaults(handler=run_embed)


EMBED_OUTPUTS = (".npy", ".jsonl")


@user_errors("embed")
def run_embed(args):
    """Run ``zoo embed`` from parsed arguments."""
    import numpy as np

    from zoo.export.embed import embed
    from zoo.export.predict import (FLAGS, PredictInputError, check_output_path, shown_text, with_input_columns,
                                    write_rows)
    from zoo.paths import check_output, output_errors

    check_text_inputs(args)
    fix = f"set --output to a {' or '.join(EMBED_OUTPUTS)} file in a directory you can write"
    if args.output:
        suffix = Path(args.output).suffix.lower()
        if suffix not in EMBED_OUTPUTS:
            raise PredictInputError(f"{args.output}: unsupported output type {suffix!r}; use one of "
                                    f"{', '.join(EMBED_OUTPUTS)}")
        if suffix == ".npy":
            check_output(Path(args.output), fix, is_file=True)  # before the model loads
        else:
            check_output_path(args.output, args.input)  # not the input file, which writing would replace
    texts, columns = read_input(args, purpose="embed") if args.input else (args.texts, [{}] * len(args.texts))
    result = embed(args.checkpoint, texts, batch_size=args.batch_size, sequence_length=args.sequence_length,
                   progress=bool(args.input))
    records = with_input_columns([{"text": shown_text(text), "embedding": vector.tolist(),
                                   **{flag: bool(getattr(result, flag)[i]) for flag in FLAGS}}
                                  for i, (text, vector) in enumerate(zip(texts, result.vectors))], columns)
    if args.output:
        path = Path(args.output)
        with output_errors(path, fix):
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix.lower() == ".npy":
                np.save(path, result.vectors)
            else:
                write_rows(path, records)
        print(f"wrote {len(texts)} embeddings of {result.vectors.shape[1]} dimensions to {path}", file=sys.stderr)
    else:
        for record in records:
            print(json.dumps(record, ensure_ascii=False))
    for flag, what in (("empty_input", "had nothing left after cleaning; each is embedded as empty input"),
                       ("replaced_bytes", "held bytes that are not UTF-8, replaced by U+FFFD before embedding (pass "
                                          "the input's encoding if it is not UTF-8)"),
                       ("truncated", f"had more tokens than {result.sequence_length} (--sequence-length) and were "
                                     "embedded from the first ones")):
        count = int(getattr(result, flag).sum())
        if count:
            print(f"warning: {count} of {len(texts)} texts {what}; flagged {flag}", file=sys.stderr)
    return 0
