"""Command-line options that set one config key, declared once for every ``zoo`` command that takes them.

Each is a shortcut for ``--set KEY=VALUE`` that takes a path as it is: ``--data 1e3.csv`` or ``--data yes`` stays a
string, where ``--set`` would read the value as YAML.
"""
import json
from typing import NamedTuple


class ConfigOption(NamedTuple):
    """A command-line option that sets one config key.

    Args:
        flag: The option, e.g. ``--data``.
        key: The dotted config key it sets.
        metavar: What the help shows for its value.
        help: What it is, without the key (the help adds "sets KEY").

    Example:
        >>> DATA.dest, DATA.key
        ('data', 'data.source')
    """

    flag: str
    key: str
    metavar: str
    help: str

    @property
    def dest(self):
        """The attribute of the parsed arguments that holds the option's value."""
        return self.flag.removeprefix("--").replace("-", "_")


DATA = ConfigOption("--data", "data.source", "PATH", "training data: a shared set name (mr, trec, subj, sms_spam) or "
                                                     "a local csv/tsv/jsonl/parquet file (the others but parquet also "
                                                     "compressed: train.csv.gz), a .txt file of one text per line "
                                                     "(lm, mlm), or a folder")
OUTPUT = ConfigOption("--output", "output.dir", "DIR", "run directory")
PRETRAINED = ConfigOption("--pretrained", "model.init_from", "PATH",
                          "start the classifier from a pretrained BERT checkpoint folder (Hugging Face or keras-hub "
                          "layout) or a zoo pretraining run, and read the data with its tokenizer: data.tokenizer "
                          "must not be set")
# zoo tune's trials start from a checkpoint folder only: its default spaces search a pretraining run's sizes.
PRETRAINED_CHECKPOINT = ConfigOption("--pretrained", "model.init_from", "PATH",
                                     "start each trial's classifier from a pretrained BERT checkpoint folder "
                                     "(Hugging Face or keras-hub layout), and read the data with its tokenizer: "
                                     "data.tokenizer must not be set; a zoo pretraining run is for zoo train and "
                                     "zoo cv")


def add_config_options(parser, *options):
    """Declare ``options`` (``ConfigOption``) on an argparse ``parser``.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser()
        >>> add_config_options(parser, DATA, PRETRAINED)
        >>> parser.parse_args(["--data", "trec"]).data
        'trec'
    """
    for option in options:
        parser.add_argument(option.flag, metavar=option.metavar, help=f"{option.help} (sets {option.key})")


def config_values(args, *options, assignments=()):
    """Return ``{config key: value}`` for each of ``options`` given on the command line.

    Args:
        args: The parsed arguments.
        *options: The ``ConfigOption`` objects the command takes.
        assignments: The command's ``--set KEY=VALUE`` strings: one that sets a key an option given sets too
            raises ``ConfigError`` (``--set`` would win silently).

    Example:
        >>> import argparse
        >>> config_values(argparse.Namespace(data="trec", pretrained=None), DATA, PRETRAINED)
        {'data.source': 'trec'}
    """
    from zoo.config import ConfigError

    values = {option.key: getattr(args, option.dest) for option in options
              if getattr(args, option.dest, None) is not None}
    for assignment in assignments:
        key = assignment.partition("=")[0].strip()
        if key in values:
            flag = next(option.flag for option in options if option.key == key)
            raise ConfigError(f"{flag} and --set {assignment} both set {key}: give one of them")
    return values


def config_overrides(args, *options, assignments=()):
    """Return ``config_values`` as ``KEY=VALUE`` overrides, to go before the command's ``--set`` ones.

    A JSON string is a YAML string, so a path reaches its key unchanged, whatever its characters.

    Example:
        >>> import argparse
        >>> config_overrides(argparse.Namespace(data="1e3.csv", pretrained=None), DATA, PRETRAINED)
        ['data.source="1e3.csv"']
    """
    return [f"{key}={json.dumps(value)}"
            for key, value in config_values(args, *options, assignments=assignments).items()]
