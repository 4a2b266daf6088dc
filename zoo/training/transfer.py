"""``model.init_from``: start a classifier from a pretraining run's backbone, with its tokenizer.

The checks come first and name the config keys: a classifier can only reuse an encoder of the same sizes,
read through the same tokenizer (the same ids must mean the same words), so zoo loads the pretraining run's
tokenizer instead of fitting a new one and refuses data settings that would have produced another.
"""
import json
from pathlib import Path

from zoo.config import Config, ConfigError

# The data settings that decide the token ids; they must equal the pretraining run's.
TOKENIZER_KEYS = ("tokenizer", "vocab_size", "tokenizer_options", "cleaning")
# The builder arguments that decide the encoder's weight shapes and computation.
ENCODER_KEYS = ("vocab_size", "sequence_length", "num_layers", "d_model", "num_heads", "ff_dim", "activation",
                "positional", "norm_first")


def pretrained_run(config):
    """Check ``config`` against its ``model.init_from`` run; return ``(run_dir, the run's tokenizer)``.

    Raises:
        ConfigError: No finished run there, or the data's tokenizer settings differ from the run's.
    """
    from zoo.data import load_tokenizer

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
    from zoo.models.backbone import EMBEDDING_PARTS
    from zoo.training.run import load_run

    donor = load_run(run_dir)[0]
    copied = transfer_backbone_weights(donor, model)
    if freeze == "encoder":
        model.backbone.trainable = False
    elif freeze == "embedding":
        for name in EMBEDDING_PARTS:
            part = getattr(model.backbone, name)
            if part is not None:
                part.trainable = False
    return copied


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
