"""``model.init_from``: start a classifier from a pretraining run's backbone, or from a pretrained checkpoint.

The checks come first and name the config keys: a classifier can only reuse an encoder of the same sizes,
read through the same tokenizer (the same ids must mean the same words), so zoo loads the pretraining run's
tokenizer instead of fitting a new one and refuses data settings that would have produced another.

A pretrained checkpoint folder (Hugging Face BERT, keras-hub preset) gives the whole classifier instead:
``zoo.from_pretrained``'s backbone with a new head, and the checkpoint's tokenizer.
"""
import json
from pathlib import Path

from zoo.config import Config, ConfigError

# The data settings that decide the token ids; they must equal the pretraining run's.
TOKENIZER_KEYS = ("tokenizer", "vocab_size", "tokenizer_options", "cleaning")
# The builder arguments that decide the encoder's weight shapes and computation.
ENCODER_KEYS = ("vocab_size", "sequence_length", "num_layers", "d_model", "num_heads", "ff_dim", "activation",
                "positional", "norm_first")


# model.overrides a classifier from a pretrained checkpoint takes: its head's and its backbone's dropouts (the
# sizes are the checkpoint's).
CHECKPOINT_OVERRIDES = ("pooling", "hidden_dim", "dropout", "attention_dropout")


def from_checkpoint(config):
    """True when ``model.init_from`` is a pretrained checkpoint folder rather than a zoo run directory."""
    from zoo.converters import is_checkpoint_folder

    return bool(config.model.init_from) and is_checkpoint_folder(config.model.init_from)


def pretrained_run(config):
    """Check ``config`` against its ``model.init_from``; return ``(the run or checkpoint folder, its tokenizer)``.

    Raises:
        ConfigError: No finished run or checkpoint there, the data's tokenizer settings differ from the run's,
            or a checkpoint asked for another task than classification.
    """
    from zoo.data import load_tokenizer

    if from_checkpoint(config):
        return _checkpoint(config)
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


def _checkpoint(config):
    from zoo.converters import load_tokenizer
    from zoo.training.data import task_of_config

    task = task_of_config(config)
    if task != "classification":
        raise ConfigError(f"model.init_from: a pretrained checkpoint starts a classifier, but model.name "
                          f"{config.model.name!r} is a {task} model; leave model.name at its default")
    return Path(config.model.init_from), load_tokenizer(config.model.init_from)


def pretrained_classifier(config, num_classes):
    """Return the classifier of a run started from a checkpoint folder (``zoo.from_pretrained``), frozen as asked.

    The checkpoint's dropout applies to the backbone and the head unless ``model.overrides.dropout`` says
    otherwise; attention probabilities get ``model.overrides.attention_dropout``, 0 by default (the
    checkpoint's 0.1 costs a dropout mask per attention map and step).

    Raises:
        ConfigError: An override the checkpoint fixes, or ``data.sequence_length`` beyond its positions.
    """
    from zoo.converters import from_pretrained
    from zoo.converters.pretrained import CONFIG_FILE, read_config

    folder = Path(config.model.init_from)
    overrides = dict(config.model.overrides)
    unknown = sorted(set(overrides) - set(CHECKPOINT_OVERRIDES))
    if unknown:
        raise ConfigError(f"model.overrides {unknown}: a model from the pretrained checkpoint {folder} has the "
                          f"checkpoint's sizes; overrides may set only {', '.join(CHECKPOINT_OVERRIDES)}")
    checkpoint, layout = read_config(folder)
    arguments = layout.backbone_arguments(checkpoint, folder / CONFIG_FILE)
    if config.data.sequence_length > arguments["sequence_length"]:
        raise ConfigError(f"data.sequence_length {config.data.sequence_length} is longer than the "
                          f"{arguments['sequence_length']} positions of the checkpoint {folder}")
    dropout = overrides.pop("dropout", arguments["dropout"])
    backbone = {"dropout": dropout, "attention_dropout": overrides.pop("attention_dropout", 0.0)}
    model = from_pretrained(folder, num_classes=num_classes, backbone_options=backbone, dropout=dropout,
                            **overrides).model
    freeze(model, config.model.freeze, config.model.freeze_blocks)
    return model


# The classifier arguments a model.json of a checkpoint run records (next to the backbone's).
_CLASSIFIER_ARGUMENTS = ("num_classes", "pooling", "mode", "hidden_dim", "dropout", "pad_id")


def checkpoint_spec(model, folder, text_pairs=False):
    """The ``model.json`` of a run started from a checkpoint: the backbone's and the head's arguments.

    The dtype is left out, so ``model_from_spec`` builds under the global policy, like a registry model.
    ``text_pairs`` records that the model classifies sentence pairs (export and prediction take two texts).
    """
    backbone = {k: v for k, v in model.backbone.get_config().items() if k not in ("name", "trainable", "dtype")}
    classifier = {k: v for k, v in model.get_config().items() if k in _CLASSIFIER_ARGUMENTS}
    return {"init_from": str(folder), "backbone": backbone, "classifier": classifier, "text_pairs": bool(text_pairs)}


def model_from_spec(spec):
    """Rebuild (untrained) the classifier a ``checkpoint_spec`` describes."""
    from zoo.models import Backbone, TextClassifier

    return TextClassifier(Backbone(**spec["backbone"]), **spec["classifier"])


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


def initialise_encoder(model, run_dir, freeze_parts="none", blocks=0):
    """Copy the run's backbone weights into ``model``'s backbone, then ``freeze`` what the config says.

    Returns:
        The names of the copied backbone parts.
    """
    from zoo.models import transfer_backbone_weights
    from zoo.training.run import load_run

    donor = load_run(run_dir)[0]
    copied = transfer_backbone_weights(donor, model)
    freeze(model, freeze_parts, blocks)
    return copied


def freeze(model, parts="none", blocks=0):
    """Keep the backbone's ``embedding`` parts or all of it (``encoder``) fixed, and its lowest ``blocks`` blocks."""
    from zoo.models.backbone import EMBEDDING_PARTS

    if parts == "encoder":
        model.backbone.trainable = False
    elif parts == "embedding":
        for name in EMBEDDING_PARTS:
            part = getattr(model.backbone, name)
            if part is not None:
                part.trainable = False
    if blocks:
        freeze_blocks(model, blocks)


def encoder_variables(model):
    """Return the trainable variables of the model's backbone (embeddings, blocks, norms, pooler); [] without one."""
    backbone = getattr(model, "backbone", None)
    return [] if backbone is None else backbone.trainable_variables


def encoder_stack(model):
    """Return the model's backbone as layers from the bottom up: ``[embedding parts, block 1, ..., block L]``.

    Empty for a model without a zoo ``Backbone`` (the LSTM and CNN baselines). Layer-wise learning-rate
    decay, the weight-decay exclusion of embeddings and ``model.freeze_blocks`` read it.
    """
    from zoo.models.backbone import EMBEDDING_PARTS, Backbone

    backbone = getattr(model, "backbone", None)
    if not isinstance(backbone, Backbone):
        return []
    embeddings = [getattr(backbone, name) for name in EMBEDDING_PARTS if getattr(backbone, name) is not None]
    return [embeddings, *([block] for block in backbone.blocks)]


def freeze_blocks(model, count):
    """Keep the lowest ``count`` encoder blocks fixed (``model.freeze_blocks``)."""
    blocks = [layers[0] for layers in encoder_stack(model)[1:]]
    if count > len(blocks):
        raise ConfigError(f"model.freeze_blocks: {count} is more than the model's {len(blocks)} encoder blocks")
    for block in blocks[:count]:
        block.trainable = False
