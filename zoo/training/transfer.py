"""``model.init_from``: start a classifier from a pretraining run's backbone, or from a pretrained checkpoint.

The checks come first and name the config keys: a classifier can only reuse an encoder of the same sizes,
read through the same tokenizer (the same ids must mean the same words), so zoo loads the pretraining run's
tokenizer instead of fitting a new one and refuses data settings that would have produced another.

A pretrained checkpoint folder (Hugging Face or keras-hub BERT, ``zoo.from_pretrained``) brings its whole
architecture and its tokenizer: ``data.tokenizer``, ``data.vocab_size``, ``data.cleaning`` and the model's
registry sizes do not apply (setting them is an error); only the classifier head and the backbone's dropout rates are configured
(``model.overrides``).
"""
from pathlib import Path

from zoo.config import Config, ConfigError
from zoo.console import a_task

# The data settings that decide the token ids; they must equal the pretraining run's.
TOKENIZER_KEYS = ("tokenizer", "vocab_size", "tokenizer_options", "cleaning")
# model.overrides keys that configure the head of a classifier started from a checkpoint, and those that set its
# backbone's regularisation: build_transformer's names, which from_pretrained takes too.
CHECKPOINT_HEAD_KEYS = ("pooling", "mode", "head_hidden_dim", "head_dropout")
CHECKPOINT_BACKBONE_KEYS = ("dropout", "attention_dropout")


def pretrained_run(config):
    """Check ``config`` against its ``model.init_from`` run; return ``(run_dir, the run's tokenizer)``.

    For a checkpoint folder: ``(folder, the checkpoint's BertTokenizer)``.

    Raises:
        ConfigError: Nothing at ``model.init_from``; neither a checkpoint nor a finished run there; the data's
            tokenizer settings differ from the run's; or, with a checkpoint, tokenizer settings given at all
            (the checkpoint's tokenizer replaces them).
    """
    from zoo.data import load_tokenizer

    run_dir = Path(config.model.init_from)
    if not run_dir.is_dir():
        raise ConfigError(f"model.init_from: {run_dir} {'is not a folder' if run_dir.exists() else 'not found'}; "
                          "give a pretrained checkpoint folder (config.json) or a finished zoo pretrain run")
    if from_checkpoint(config):
        from zoo.converters import load_tokenizer as checkpoint_tokenizer

        # The checkpoint's vocabulary decides the token ids: a tokenizer setting asked for would be ignored.
        defaults = Config().data
        given = [f"data.{key}={getattr(config.data, key)!r}" for key in TOKENIZER_KEYS
                 if getattr(config.data, key) != getattr(defaults, key)]
        if given:
            raise ConfigError(f"model.init_from: {run_dir} is a pretrained checkpoint, whose own tokenizer "
                              f"(vocabulary and lower-casing) gives the ids; {', '.join(given)} would not apply: "
                              "remove " + ("it" if len(given) == 1 else "them"))
        return run_dir, checkpoint_tokenizer(run_dir)
    for name in ("config.yaml", "model.json", "model.weights.h5", "tokenizer"):
        if not (run_dir / name).exists():
            raise ConfigError(f"model.init_from: {run_dir / name} not found; {run_dir} is neither a pretrained "
                              "checkpoint (no config.json) nor a finished zoo run (run zoo pretrain first)")
    pretrained = Config.load(run_dir / "config.yaml")
    differ = [f"data.{key}: {getattr(config.data, key)!r} here, {getattr(pretrained.data, key)!r} in {run_dir}"
              for key in TOKENIZER_KEYS if getattr(config.data, key) != getattr(pretrained.data, key)]
    if differ:
        raise ConfigError("model.init_from needs the pretrained run's tokenizer, but " + "; ".join(differ)
                          + ": set these data keys to the pretrained run's values")
    return run_dir, load_tokenizer(run_dir / "tokenizer")


# model.init_from's tokenizer reading most of the new data's tokens as [UNK] is warned about (a seq2seq run's
# 17-letter vocabulary read MR's sentences as [UNK] 97 % of the time, and the classifier learned nothing).
UNKNOWN_WARNING_SHARE = 0.5


def unknown_tokens(tokenizer, texts, chunk=2048):
    """``(unknown, total)``: how many of the tokens of ``texts`` (``LabeledTexts``, both texts of a pair)
    ``tokenizer`` reads as ``[UNK]``, of how many; one pass of its ``tokenize``, special tokens it adds
    (``[CLS]``) not counted.

    Example:
        >>> tokenizer = zoo.data.build_tokenizer("word", 100).fit(["a good film"])
        >>> unknown_tokens(tokenizer, zoo.data.LabeledTexts(["a dull film", "a bad plot"], [0, 0], ["neg"]))
        (3, 6)
    """
    import numpy as np
    import tensorflow as tf

    special = tokenizer.special_ids
    added = [special.pad, special.cls, special.sep, special.mask]
    unknown = total = 0
    for part in (texts.texts, texts.text_pairs if texts.is_pairs else []):
        for start in range(0, len(part), chunk):
            ids = tokenizer.tokenize(tf.constant(part[start:start + chunk], tf.string)).flat_values.numpy()
            ids = ids[~np.isin(ids, added)]
            unknown += int((ids == special.unk).sum())
            total += int(ids.size)
    return unknown, total


def unknown_tokens_warning(tokenizer, texts, run_dir):
    """A warning when the tokenizer of the ``model.init_from`` run ``run_dir`` reads more than
    ``UNKNOWN_WARNING_SHARE`` of the training ``texts``' tokens as ``[UNK]``: its encoder then sees little of the
    data. ``None`` otherwise.

    Example:
        >>> tokenizer = zoo.data.build_tokenizer("word", 100).fit(["a b c"])
        >>> print(unknown_tokens_warning(tokenizer, zoo.data.LabeledTexts(["a good film"], [0], ["neg"]), "runs/abc"))
        67% of the training texts' tokens (2 of 3) are unknown to the tokenizer of runs/abc (a vocabulary of 8 ...
    """
    unknown, total = unknown_tokens(tokenizer, texts)
    if not total or unknown / total <= UNKNOWN_WARNING_SHARE:
        return None
    return (f"{unknown / total:.0%} of the training texts' tokens ({unknown:,} of {total:,}) are unknown to the "
            f"tokenizer of {run_dir} (a vocabulary of {tokenizer.vocab_size} tokens, fitted on its data): they read "
            "as [UNK], so its encoder sees little of them; start from a run pretrained on text like these, or leave "
            "model.init_from out")


def run_sequence_length(run_dir):
    """The sequence length of a zoo run's model (its ``model.json``): its position table's size."""
    from zoo.training.run import read_model_spec

    return int(read_model_spec(run_dir)["arguments"]["sequence_length"])


def checkpoint_positions(folder):
    """The positions of a checkpoint folder's backbone: the longest input it takes."""
    from zoo.converters.pretrained import CONFIG_FILE, read_config

    settings, layout = read_config(folder)
    return int(layout.backbone_arguments(settings, Path(folder) / CONFIG_FILE)["sequence_length"])


# The encoder settings a classifier takes from the pretraining run it starts from, unless model.overrides sets them
# (the token table and positions follow the run's tokenizer and data.sequence_length).
INHERITED_KEYS = ("num_layers", "d_model", "num_heads", "ff_dim", "activation", "positional", "norm_first",
                  "layer_norm_epsilon")


def pretrained_encoder_arguments(donor, build_args, overrides, name):
    """Return the pretrained ``donor``'s encoder settings that registry model ``name``, built from ``build_args``,
    would otherwise take differently, for the keys ``overrides`` leaves out.

    Weights move only between encoders of the same sizes and settings (``initialise_encoder``), so a key the
    config does not set can only take the run's value: ``zoo pretrain``'s mlm (d_model 128, 4 heads, ff_dim 256)
    under transformer-tiny's registry sizes (64, 2, 128) failed until each was set by hand. The builder's own
    defaults count as well as ``build_args``: continued pretraining (mlm from an mlm run) passes no sizes.

    Args:
        donor: The pretraining run's model (``load_run``).
        build_args: The builder arguments from the config.
        overrides: ``model.overrides``: the keys set there keep their values (and must match the run's).
        name: ``model.name``.

    Example:
        >>> donor = zoo.build_mlm(vocab_size=100, sequence_length=16, d_model=32, num_heads=2, ff_dim=64)
        >>> pretrained_encoder_arguments(donor, {"vocab_size": 100, "num_heads": 2}, {"num_heads": 2}, "mlm")
        {'d_model': 32, 'ff_dim': 64}
    """
    from zoo.models.registry import builder_defaults

    if not encoder_stack(donor):
        return {}
    built = {**builder_defaults(name), **build_args}
    return {key: getattr(donor.backbone, key) for key in INHERITED_KEYS
            if key in built and key not in overrides and built[key] != getattr(donor.backbone, key)}


def initialise_encoder(model, donor, run_dir, name, freeze="none", blocks=0):
    """Copy the run's backbone weights into ``model``'s backbone; freeze its ``embedding`` parts or all of it,
    and its lowest ``blocks`` blocks.

    Args:
        model: The classifier built from the config, registry model ``name``.
        donor: The pretraining run's model (``load_run``).
        run_dir: The finished zoo pretraining run (``model.init_from``), for the errors.
        name: ``model.name``, for the errors.
        freeze: ``model.freeze``.
        blocks: ``model.freeze_blocks``.

    Returns:
        The names of the copied backbone parts.

    Raises:
        ConfigError: ``model`` has no Transformer encoder, or one that reads in the other direction, or that
            differs from the run's in a size or setting (each named, with the run's value to set).
    """
    from zoo.models import ENCODER_KEYS, transfer_backbone_weights
    from zoo.training.run import run_model_name

    if not encoder_stack(model):
        # The baselines (lstm, cnn) have no Backbone: the sizes' error told their users to set
        # model.overrides.num_layers, d_model, ..., which their builders then refused.
        raise ConfigError(f"model.init_from: {run_dir} holds a pretrained Transformer encoder, and model.name "
                          f"{name!r} has none to start from it; set model.name to a transformer-* model, or remove "
                          "model.init_from")
    if encoder_stack(donor):
        if donor.backbone.causal != model.backbone.causal:
            # transfer_backbone_weights refuses it too, but in the models' terms ('transformer_lm'), with no way out.
            kinds = {True: "causal (lm) encoder, which reads left to right", False: "bidirectional (mlm) encoder"}
            raise ConfigError(f"model.init_from: {run_dir} holds a {kinds[donor.backbone.causal]}, and this model "
                              f"needs a {kinds[model.backbone.causal]}: start it from a zoo pretrain run with "
                              f"model.name: {'lm' if model.backbone.causal else 'mlm'}")
        # The built backbones, not the runs' builder arguments: model.json records only the arguments a run
        # was given, so a builder default that differs (mlm's 4 heads, transformer-tiny's 2) went unseen until
        # transfer_backbone_weights refused it in the models' terms.
        differ = {key: (getattr(model.backbone, key), getattr(donor.backbone, key)) for key in ENCODER_KEYS
                  if getattr(model.backbone, key) != getattr(donor.backbone, key)}
        if differ:
            raise ConfigError(
                f"model.init_from: the encoder differs from the pretrained {run_model_name(run_dir)!r} model ("
                + "; ".join(f"{key}: {here!r} here, {there!r} in {run_dir}" for key, (here, there) in differ.items())
                + "); set " + ", ".join(f"{_config_key(key)}: {there!r}" for key, (_, there) in differ.items())
                + ", the pretrained values")
    copied = transfer_backbone_weights(donor, model)
    _freeze(model, freeze, blocks)
    return copied


def _config_key(key):
    """The config key that sets backbone argument ``key``."""
    return f"data.{key}" if key in ("sequence_length", "vocab_size") else f"model.overrides.{key}"


def _freeze(model, freeze, blocks=0):
    from zoo.models.backbone import EMBEDDING_PARTS

    if freeze == "encoder":
        model.backbone.trainable = False
    elif freeze == "embedding":
        for name in EMBEDDING_PARTS:
            part = getattr(model.backbone, name)
            if part is not None:
                part.trainable = False
    if blocks:
        freeze_blocks(model, blocks)


def from_checkpoint(config):
    """Whether ``model.init_from`` is a pretrained checkpoint folder (Hugging Face, keras-hub), not a zoo run."""
    from zoo.converters import is_checkpoint_folder

    return bool(config.model.init_from) and is_checkpoint_folder(config.model.init_from)


def check_checkpoint_config(config):
    """Raise ``ConfigError`` for the model keys a run from ``model.init_from``'s checkpoint folder cannot take.

    They need no data: ``train`` checks them before it reads any (and ``checkpoint_classifier`` again, for its
    other callers).

    Raises:
        ConfigError: Not a classification model, a ``model.name`` other than its default (the checkpoint decides
            the architecture), ``model.overrides`` beyond the head's and the backbone's dropout keys, or a head
            setting the head refuses.
    """
    from zoo.models.transformer import check_head_arguments
    from zoo.training.data import task_of_config

    folder = config.model.init_from
    task = task_of_config(config)
    if task != "classification":
        raise ConfigError(f"model.init_from: a checkpoint folder ({folder}) starts a classifier, but model.name "
                          f"{config.model.name!r} is {a_task(task)} model")
    if config.model.name != Config().model.name:
        # Its default, which every saved config holds, passes: only a name asked for would be ignored.
        raise ConfigError(f"model.name: {config.model.name!r} would not apply: a run from the checkpoint folder "
                          f"{folder} trains the checkpoint's own architecture under a new head; remove model.name "
                          f"(model.overrides sets the head's {', '.join(CHECKPOINT_HEAD_KEYS)})")
    overrides = config.model.overrides
    unknown = sorted(set(overrides) - set(CHECKPOINT_HEAD_KEYS) - set(CHECKPOINT_BACKBONE_KEYS))
    if unknown:
        raise ConfigError(f"model.overrides {unknown}: the architecture comes from the checkpoint {folder}; only "
                          f"the classifier head's {', '.join(CHECKPOINT_HEAD_KEYS)} and the backbone's "
                          f"{', '.join(CHECKPOINT_BACKBONE_KEYS)} may be set")
    try:  # checked here to name the model.overrides key
        check_head_arguments(overrides.get("head_hidden_dim"), overrides.get("head_dropout"))
    except ValueError as error:
        raise ConfigError(f"model.overrides: {error}") from None


def checkpoint_classifier(config, num_classes):
    """The classifier over ``model.init_from``'s checkpoint: its backbone and weights, a new head; frozen as asked.

    The backbone takes the checkpoint's dropout rates (residual and attention-probability), unless
    ``model.overrides`` sets ``dropout`` or ``attention_dropout``.

    Raises:
        ConfigError: A model key ``check_checkpoint_config`` refuses, or a ``data.sequence_length`` beyond the
            checkpoint's positions.
    """
    from zoo.converters import CheckpointError, from_pretrained

    check_checkpoint_config(config)
    folder = config.model.init_from
    # The checkpoint's attention-probability dropout is kept unless set: on MR it was worth 0.66 points over 3 seeds
    # (each seed gained) for no measurable epoch time, as batches are cut to their longest sentence
    # (BENCHMARKS.md, issue 13).
    try:
        model = from_pretrained(folder, num_classes=num_classes, **config.model.overrides).model
    except (CheckpointError, ValueError) as error:
        raise ConfigError(f"model.init_from: {error}") from None
    if config.data.sequence_length != "auto" and config.data.sequence_length > model.sequence_length:
        # The recipe's 128 fails on a checkpoint of fewer positions with no key set: the error says whose it is.
        recipe = " (the fine-tuning recipe's default)" if "data.sequence_length" in config.recipe_defaults() else ""
        raise ConfigError(f"data.sequence_length: {config.data.sequence_length}{recipe} is more than the "
                          f"{model.sequence_length} positions of the checkpoint {folder}; set data.sequence_length "
                          f"to at most {model.sequence_length}, or to auto (which caps it there)")
    _freeze(model, config.model.freeze, config.model.freeze_blocks)
    return model


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
