"""The ``zoo`` command line: one sub-command per stage, each a thin shell over the Python API.

A sub-command is one ``add_<name>_command(subparsers)`` function that declares its arguments and sets
``handler`` to a function ``(args) -> exit status``; adding a stage means writing one such function and
listing it in ``COMMANDS``. Heavy modules (TensorFlow) are imported inside the handlers, so ``zoo --help``
answers at once.
"""
import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from zoo import interrupts
from zoo.cli_options import DATA, OUTPUT, PRETRAINED, add_config_options, config_values
from zoo.console import (EXIT_BROKEN_PIPE, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, error, exit_status_for_signal,
                         import_tensorflow_quietly)
from zoo.evaluation.cli import add_cv_command, add_evaluate_command, add_explain_command, add_generate_command
from zoo.export.cli import add_embed_command, add_export_command, add_predict_command
from zoo.tuning.cli import add_tune_command

# What zoo train / pretrain say for a Ctrl-C outside the training loop (TensorFlow's import included).
TRAIN_INTERRUPTED = ("interrupted (Ctrl-C) outside the training loop; rerun the same command to resume from the "
                     "last checkpoint (or to start, when there is none)")


def _add_run_arguments(parser):
    parser.add_argument("--config", metavar="FILE", help="run config, YAML (.yaml/.yml) or JSON (.json)")
    add_config_options(parser, DATA, OUTPUT)
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="override one config field by its dotted key, e.g. --set training.epochs=5 "
                             "(values are YAML: 1e-3, true, null, [a, b]); repeatable, each key once")


def add_train_command(subparsers):
    """Declare ``zoo train``."""
    parser = subparsers.add_parser(
        "train", help="train a model from a config (the default Transformer on MR without one)",
        description="Train a model and write its run directory (config, tokenizer, checkpoints, history, "
                    "metrics, TensorBoard logs). Rerunning an interrupted run resumes it. Precedence: "
                    "defaults < --config < --data/--output/--pretrained < --set.")
    _add_run_arguments(parser)
    add_config_options(parser, PRETRAINED)
    parser.set_defaults(handler=run_train, interrupted=TRAIN_INTERRUPTED)


def add_pretrain_command(subparsers):
    """Declare ``zoo pretrain``."""
    parser = subparsers.add_parser(
        "pretrain", help="pretrain a masked-LM encoder on unlabelled text (labels are ignored)",
        description="Train an mlm (or lm) model on the texts of data.source (+ data.extra_sources), labels "
                    "ignored; the run directory holds the encoder weights and the tokenizer that "
                    "`zoo train --set model.init_from=RUN_DIR` starts a classifier from. Its defaults: the mlm "
                    "model on MR, no label smoothing. Precedence: defaults < --config < --data/--output < --set.")
    _add_run_arguments(parser)
    parser.set_defaults(handler=run_pretrain, interrupted=TRAIN_INTERRUPTED)


def _config(args, command, defaults=None):
    """The run config of ``zoo train``/``zoo pretrain`` arguments, or ``None`` after printing the error."""
    from zoo.config import Config, ConfigError

    try:
        config = Config.load(args.config, defaults=defaults) if args.config else Config.from_dict(defaults or {})
        config = config.update(config_values(args, DATA, OUTPUT, PRETRAINED, assignments=args.assignments))
        return config.override(args.assignments)
    except (ConfigError, FileNotFoundError) as err:
        error(command, err)
        return None


def _train(config, command):
    started = time.time()
    try:
        code = _run_training(config, command)
        if code == 0:
            interrupts.raise_if_pending()  # a Ctrl-C swallowed after the run finished (see zoo.interrupts)
        return code
    except KeyboardInterrupt:
        # Ctrl-C outside the training loop (imports, data, model building, final metrics): the loop itself
        # saves a checkpoint and raises TrainingInterrupted. A rerun resumes from the last checkpoint, or starts
        # afresh over the files of a run that had none (metrics.json, written last, is renamed into place). Once
        # this command has written metrics.json the run is finished, and a rerun would refuse it as such.
        finished = _finished_since(config, started)
        error(command, f"interrupted (Ctrl-C) after the run finished: {finished} holds it (zoo evaluate "
                       f"{_shell_word(str(finished))})" if finished else TRAIN_INTERRUPTED)
        return EXIT_INTERRUPTED


def _finished_since(config, started):
    """The run directory of ``config`` when its ``metrics.json`` was written at or after time ``started``, else
    None (also when the interrupt came before zoo.training was imported: nothing can have finished then)."""
    run = sys.modules.get("zoo.training.run")
    if run is None:
        return None
    run_dir = Path(config.output.dir) if config.output.dir else run.default_run_dir(config)
    metrics = run_dir / "metrics.json"
    # File times come from the kernel's coarse clock, up to a tick behind time.time(): a file written after
    # ``started`` was stamped before it (a test of this failed once in a full suite). A second of slack still
    # tells this command's metrics from an earlier run's.
    return run_dir if metrics.is_file() and metrics.stat().st_mtime >= started - 1 else None


def _run_training(config, command):
    from zoo.training import NonFiniteLossError, TrainingInterrupted, train
    from zoo.training.strategies import PeerStoppedError, ServerStopped

    try:
        result = train(config)
    except TrainingInterrupted as err:
        error(command, err)
        return exit_status_for_signal(err.signal_number)
    except ServerStopped as err:
        error(command, err)
        return exit_status_for_signal(err.signal_number)
    except (NonFiniteLossError, PeerStoppedError) as err:
        error(command, err)
        return EXIT_FAILED
    except (ValueError, FileNotFoundError) as err:
        error(command, err)
        return EXIT_USAGE
    print(result.run_dir)
    print_next_commands(result)
    return 0


def _shell_word(text):
    """``text`` as one shell word: in double quotes where nothing in it is special there, else ``shlex.quote``'s."""
    return f'"{text}"' if not set(text) & set('"$`\\!') else shlex.quote(text)


def print_next_commands(result, exported=None):
    """Tell the user what to run after training ``result`` (a ``TrainResult``), with its real run directory, on
    stderr (stdout is the run directory): evaluate it (on its test split, else its validation split, else on
    ``--data FILE``, labelled texts of the user's), then export and predict (a classifier), generate (an lm or
    seq2seq run) or train a classifier from it (an mlm run). A cluster task other than the chief, which wrote
    nothing, names the chief instead.

    The paths are quoted for the shell where they need it (``'runs/my run'``), so each line runs as pasted (but
    for ``FILE``).

    Args:
        result: The ``TrainResult``.
        exported: The path of the run's export when it was already made (``zoo tune --retrain-best``).
    """
    run = shlex.quote(str(result.run_dir))
    if result.chief:
        # On its own host the run directory may not be there: the commands belong with the chief's output.
        print(f"next: see the chief's output: the chief ({result.chief}) wrote the run directory {run}, on its "
              "host, and lists the commands to run next (zoo evaluate, ...); this task wrote nothing there",
              file=sys.stderr)
        return
    lines = [f"zoo evaluate {run}{_split_to_evaluate(result.config)}"]
    # A held-out example of the run's own data shows the input it expects (a pair takes two texts).
    default = ("a gripping film", "the film grips") if result.text_pairs else ("a gripping film",)
    texts = " ".join(map(_shell_word, result.example_input or default))
    if result.metrics["task"] == "classification":
        if exported is None:
            lines.append(f"zoo export {run}")
        export = shlex.quote(str(exported or f"saved_models/{result.run_dir.resolve().name}"))
        lines.append(f"zoo predict {export} {texts}")
    elif result.metrics["task"] in ("lm", "seq2seq"):
        lines.append(f"zoo generate {run} {texts}")
    else:  # an mlm run's encoder starts a classifier
        lines.append(f"zoo train --pretrained {run}")
    print("next:\n" + "\n".join(f"  {line}" for line in lines), file=sys.stderr)


def _split_to_evaluate(config):
    """The options of ``zoo evaluate RUN`` for a run of ``config``: none for its test split, else its validation
    split, else other labelled texts (a run that held none out has nothing of its own to score)."""
    from zoo.training.run import held_out_splits

    held_out = held_out_splits(config)
    if "test" in held_out:
        return ""
    return " --split validation" if held_out else " --data FILE  # labelled texts it did not train on"


def run_train(args):
    """Handle ``zoo train``; returns the exit status."""
    config = _config(args, "train")
    return EXIT_USAGE if config is None else _train(config, "train")


PRETRAIN_DEFAULTS = {"model": {"name": "mlm"}, "training": {"label_smoothing": 0.0}}


def run_pretrain(args):
    """Handle ``zoo pretrain``; returns the exit status."""
    import zoo.models

    config = _config(args, "pretrain", PRETRAIN_DEFAULTS)
    if config is None:
        return EXIT_USAGE
    task = zoo.models.task_of(config.model.name) if config.model.name in zoo.models.model_names() else None
    if task not in ("mlm", "lm"):
        error("pretrain", f"model.name: zoo pretrain trains an mlm or lm model on unlabelled text; "
                          f"{config.model.name!r} is {'a ' + task + ' model' if task else 'not a registry model'} "
                          "(use zoo train)")
        return EXIT_USAGE
    return _train(config, "pretrain")


class _StoreOnce(argparse._StoreAction):
    """argparse's ``store``, but an option given a second time is an error instead of replacing the first."""

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string is not None:
            if self.dest in parser.given:
                parser.error(f"{option_string} given twice ({parser.given[self.dest]}, then {values}); give it once")
            parser.given[self.dest] = values
        super().__call__(parser, namespace, values, option_string)


class _CommandParser(argparse.ArgumentParser):
    """The parser of one sub-command: each of its single-value options may be given once, and options may stand
    between its texts.

    argparse keeps the last of two ``--config`` (or ``--input``, ``--out``...) without a word, so the first file
    was silently ignored; and it takes a list of positional texts in one run, so ``zoo predict MODEL --threshold
    0.3 "a text"`` was an error ("unrecognized arguments: a text").
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register("action", None, _StoreOnce)
        self.register("action", "store", _StoreOnce)
        self.given = {}
        self._intermixing = False

    def parse_known_args(self, args=None, namespace=None):
        # parse_known_intermixed_args parses in two passes, each through this method.
        if self._intermixing:
            return super().parse_known_args(args, namespace)
        self.given = {}
        self._intermixing = True
        try:
            namespace, extras = self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False
        if extras:  # said here, with this command's usage: the top-level parser would show zoo's
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


# Each entry declares one sub-command; the order is the order of ``zoo --help``.
COMMANDS = [
    add_train_command,
    add_pretrain_command,
    add_tune_command,
    add_evaluate_command,
    add_cv_command,
    add_explain_command,
    add_export_command,
    add_predict_command,
    add_generate_command,
    add_embed_command,
]


def build_parser():
    """Return the ``zoo`` argument parser with every sub-command of ``COMMANDS``.

    Example:
        >>> build_parser().parse_args(["train", "--set", "training.epochs=2"]).assignments
        ['training.epochs=2']
    """
    parser = argparse.ArgumentParser(prog="zoo", description="Keras 3 / TensorFlow model zoo for Transformers.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_CommandParser)
    for add_command in COMMANDS:
        add_command(subparsers)
    for command in subparsers.choices.values():
        command.add_argument("--verbose", action="store_true",
                             help="show TensorFlow's start-up log lines (oneDNN, CUDA, CPU features)")
    return parser


def main(argv=None):
    """Run the ``zoo`` command line; returns the exit status (the console script exits with it).

    Example:
        >>> main(["predict", "saved_models/reviews", "a gripping, funny film"])
        {"text": "a gripping, funny film", "label": "positive", "label_id": 1, "probabilities": {...}, ...}
        0
        >>> main(["train", "--data", "mr", "--set", "training.epochs=3"])  # doctest: +SKIP
        runs/mr-transformer-tiny
        0
    """
    args = build_parser().parse_args(argv)
    interrupts.install()
    try:
        if not args.verbose:
            import_tensorflow_quietly()
        code = args.handler(args)
        if code == 0:
            # A Ctrl-C whose KeyboardInterrupt was swallowed (see zoo.interrupts) still ends in exit status 130.
            interrupts.raise_if_pending()
        return code
    except KeyboardInterrupt:
        error(args.command, getattr(args, "interrupted", "interrupted (Ctrl-C)"))
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of standard output went away (`zoo predict ... | head`): stop without a word, with the status
        # of a program SIGPIPE stops, as `yes | head` does. Standard output now goes to os.devnull, so that the
        # interpreter's final flush of what is left does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE
    finally:
        _clear_escaped_interrupt_flag()


def _clear_escaped_interrupt_flag():
    # Once a KeyboardInterrupt has escaped code run from a string (exec/eval of source, as defining a dataclass or
    # a namedtuple does while a lazy import runs), CPython flags it as unhandled even if it is caught later, and a
    # `python -m zoo.cli` process then ends by SIGINT instead of with the status main returns (the console script
    # exits normally). Every string evaluation resets that flag first, so one that succeeds clears it here.
    eval("None")


if __name__ == "__main__":
    sys.exit(main())
