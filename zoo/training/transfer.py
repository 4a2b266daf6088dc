"""``model.init_from``: start a classifier from a pretraining run's backbone, or from a pretrained checkpoint.

The checks come first and name the config keys: a classifier can only reuse an encoder of the same sizes,
read through the same tokenizer (the same ids must mean the same words), so zoo loads the pretraining run's
tokenizer instead of fitting a new one and refuses data settings that would have produced another.

A pretrained checkpoint folder (Hugging Face or keras-hub BERT, ``zoo.from_pretrained``) brings its whole
architecture and its tokenizer: ``data.tokenizer``, ``data.vocab_size``, ``data.cleaning`` and the model's
registry sizes do not apply; only the classifier head is configured (``model.overrides`` head keys).
"""
import json
from pathlib import Path

from zoo.config import Config, ConfigError

# The data settings that decide the token ids; they must equal the pretraining run's.
TOKENIZER_KEYS = ("tokenizer", "vocab_size", "tokenizer_options", "cleaning")
# model.overrides keys that configure the head of a classifier started from a checkpoint -> TextClassifier's.
CHECKPOINT_HEAD_KEYS = {"pooling": "pooling", "mode": "mode", "head_hidden_dim": "hidden_dim",
                        "head_dropout": "dropout"}
# The builder arguments that decide the encoder's weight shapes and computation.
ENCODER_KEYS = ("vocab_size", "sequence_length", "num_layers", "d_model", "num_heads", "ff_dim", "activation",
                "positional", "norm_first")


def pretrained_run(config):
    """Check ``config`` against its ``model.init_from`` run; return ``(run_dir, the run's tokenizer)``.

    For a checkpoint folder: ``(folder, the checkpoint's BertTokenizer)``.

    Raises:
        ConfigError: No finished run there, or the data's tokenizer settings differ from the run's.
    """
    from zoo.data import load_tokenizer

    if from_checkpoint(config):
        from zoo.converters import load_tokenizer as checkpoint_tokenizer

        return Path(config.model.init_from), checkpoint_tokenizer(config.model.init_from)
    run_dir = Path(config.model.init_from)
    for name in ("config.yaml", "model.json", "model.weights.h5", "tokenizer"):
        if not (run_dir / name).exists():
            raise ConfigError(f"model.init_from: {run_dir / name} not found; {run_dir} is not a finished zoo run "
                              "(run zoo pretrain first)")
    pretrained = Config.load(run_dir / "config.yaml")
    differ = [f"data.{key}: {getattr(config.data, key)!r} here, {getattr(pretrained.data, key)!r} in {run_dir}"
              for key in TOKENIZER_KEYS if getattr(config.data, key) != getattr(pretrained.data, key)]
    if differ:
        raise ConfigError("model.init_from needs the pretrained run's tokenizer, but " + "; ".join(differ)
                          + ": set these data keys to the pretrained run's values")
    return run_dir, load_tokenizer(run_dir / "tokenizer")


def run_sequence_length(run_dir):
    """The sequence length of a zoo run's model (its ``model.json``): its position table's size."""
    return int(json.loads((Path(run_dir) / "model.json").read_text(encoding="utf-8"))["arguments"]["sequence_length"])


def checkpoint_positions(folder):
    """The positions of a checkpoint folder's backbone: the longest input it takes."""
    from zoo.converters.pretrained import CONFIG_FILE, read_config

    settings, layout = read_config(folder)
    return int(layout.backbone_arguments(settings, Path(folder) / CONFIG_FILE)["sequence_length"])


def check_encoder_sizes(run_dir, build_args):
    """Raise a ConfigError naming every encoder size in which ``build_args`` differ from the run's model."""
    spec = json.loads((Path(run_dir) / "model.json").read_text(encoding="utf-8"))
    donor = spec["arguments"]
    differ = [f"{key}: {build_args.get(key)!r} here, {donor.get(key)!r} in {run_dir}"
              for key in ENCODER_KEYS if key in donor and build_args.get(key) != donor[key]]
    if differ:
        where = ["data.sequence_length" if k.startswith("sequence_length") else f"model.overrides.{k}"
                 for k in (d.split(":")[0] for d in differ)]
        raise ConfigError(f"model.init_from: the encoder differs from the pretrained {spec['name']!r} model ("
                          + "; ".join(differ) + f"); set {', '.join(where)} to the pretrained values")


def initialise_encoder(model, run_dir, freeze="none"):
    """Copy the run's backbone weights into ``model``'s backbone; freeze its ``embedding`` parts or all of it.

    Returns:
        The names of the copied backbone parts.
    """
    from zoo.models import transfer_backbone_weights
    from zoo.training.run import load_run

    donor = load_run(run_dir)[0]
    copied = transfer_backbone_weights(donor, model)
    _freeze(model, freeze)
    return copied


def _freeze(model, freeze):
    from zoo.models.backbone import EMBEDDING_PARTS

    if freeze == "encoder":
        model.backbone.trainable = False
    elif freeze == "embedding":
        for name in EMBEDDING_PARTS:
            part = getattr(model.backbone, name)
            if part is not None:
                part.trainable = False


def from_checkpoint(config):
    """Whether ``model.init_from`` is a pretrained checkpoint folder (Hugging Face, keras-hub), not a zoo run."""
    from zoo.converters import is_checkpoint_folder

    return bool(config.model.init_from) and is_checkpoint_folder(config.model.init_from)


def checkpoint_classifier(config, num_classes):
    """The classifier over ``model.init_from``'s checkpoint: its backbone and weights, a new head; frozen as asked.

    Raises:
        ConfigError: Not a classification model, ``model.overrides`` beyond the head's keys, or a
            ``data.sequence_length`` beyond the checkpoint's positions.
    """
    from zoo.converters import CheckpointError, from_pretrained
    from zoo.training.data import task_of_config

    folder = config.model.init_from
    task = task_of_config(config)
    if task != "classification":
        raise ConfigError(f"model.init_from: a checkpoint folder ({folder}) starts a classifier, but model.name "
                          f"{config.model.name!r} is a {task} model")
    unknown = sorted(set(config.model.overrides) - set(CHECKPOINT_HEAD_KEYS))
    if unknown:
        raise ConfigError(f"model.overrides {unknown}: the architecture comes from the checkpoint {folder}; only "
                          f"the classifier head's {', '.join(CHECKPOINT_HEAD_KEYS)} may be set")
    options = {CHECKPOINT_HEAD_KEYS[key]: value for key, value in config.model.overrides.items()}
    try:
        model = from_pretrained(folder, num_classes=num_classes, **options).model
    except (CheckpointError, ValueError) as error:
        raise ConfigError(f"model.init_from: {error}") from None
    if config.data.sequence_length != "auto" and config.data.sequence_length > model.sequence_length:
        raise ConfigError(f"data.sequence_length: {config.data.sequence_length} is more than the "
                          f"{model.sequence_length} positions of the checkpoint {folder}")
    _freeze(model, config.model.freeze)
    return model


def encoder_variables(model):
    """Return the trainable variables of the model's backbone (embeddings, blocks, norms, pooler); [] without one."""
    backbone = getattr(model, "backbone", None)
    return [] if backbone is None else backbone.trainable_variables
