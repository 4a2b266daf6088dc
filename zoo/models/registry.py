"""Named model configurations: ``list_models()`` and ``build(name, **overrides)``; ``load_model`` of a saved one."""
import dataclasses
import functools
import inspect

from zoo.models.baselines import build_cnn_classifier, build_lstm_classifier
from zoo.models.generative import build_lm, build_mlm
from zoo.models.seq2seq import build_seq2seq
from zoo.models.transformer import build_transformer

# Sizes that named models are built with when a caller does not say; list_models() counts parameters
# at these sizes.
GENERATIVE_INPUT = {"vocab_size": 20000, "sequence_length": 128}
DEFAULT_INPUT = {**GENERATIVE_INPUT, "num_classes": 2}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A named configuration: a builder and the keyword arguments it is called with."""

    name: str
    description: str
    builder: object
    kwargs: dict
    task: str = "classification"

    @property
    def defaults(self):
        return {**(DEFAULT_INPUT if self.task == "classification" else GENERATIVE_INPUT), **self.kwargs}


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """One row of ``list_models()``."""

    name: str
    description: str
    params: int
    task: str


_REGISTRY = {
    spec.name: spec
    for spec in [
        ModelSpec("transformer-tiny", "2-layer pre-LN Transformer, d_model 64, 2 heads: the default classifier",
                  build_transformer, {"num_layers": 2, "d_model": 64, "num_heads": 2, "ff_dim": 128}),
        ModelSpec("transformer-small", "2-layer pre-LN Transformer, d_model 128, 4 heads",
                  build_transformer, {"num_layers": 2, "d_model": 128, "num_heads": 4, "ff_dim": 256}),
        ModelSpec("transformer-base", "6-layer pre-LN Transformer, d_model 512, 8 heads (the 2017 base size)",
                  build_transformer, {"num_layers": 6, "d_model": 512, "num_heads": 8, "ff_dim": 2048}),
        ModelSpec("lstm", "Embedding -> BiLSTM(128) -> Dense baseline", build_lstm_classifier, {}),
        ModelSpec("cnn", "Kim (2014) CNN: filters 3/4/5 x 100, max-over-time pooling", build_cnn_classifier, {}),
        ModelSpec("seq2seq", "Encoder-decoder Transformer (2+2 layers, d_model 128), tied embeddings",
                  build_seq2seq, {}, task="seq2seq"),
        ModelSpec("lm", "GPT-style decoder-only causal LM (2 layers, d_model 128), tied embeddings",
                  build_lm, {}, task="lm"),
        ModelSpec("mlm", "BERT-style encoder with a masked-LM head (2 layers, d_model 128)", build_mlm, {},
                  task="mlm"),
    ]
}


class UnknownModelError(ValueError):
    """Raised for a model name that is not in the registry."""


def _spec(name):
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownModelError(f"unknown model {name!r}; valid names: {', '.join(sorted(_REGISTRY))}") from None


def model_names():
    """Return the registered model names, sorted.

    Example:
        >>> model_names()
        ['cnn', 'lm', 'lstm', 'mlm', 'seq2seq', 'transformer-base', 'transformer-small', 'transformer-tiny']
    """
    return sorted(_REGISTRY)


def build(name=None, /, **overrides):
    """Build the named model; ``overrides`` replace any of its builder's keyword arguments.

    Args:
        name: A name from ``list_models()`` (positional: ``name=`` is the Keras model's name, an override).
        **overrides: Builder arguments, e.g. ``vocab_size``, ``num_classes``, ``dropout``, ``name``.

    Raises:
        UnknownModelError: ``name`` is not registered.
        ValueError: An override the model's builder does not take; the message lists the ones it does.

    Example:
        >>> model = build("transformer-tiny", vocab_size=8000, num_classes=6)
        >>> tuple(model(np.array([[5, 9, 0]])).shape)
        (1, 6)
        >>> build("lm", vocab_size=100, sequence_length=16, name="my_lm").name
        'my_lm'
    """
    if name is None:  # build(name="transformer-tiny") put the model's name among the overrides
        given = f" (name={overrides['name']!r} is the Keras model's name)" if "name" in overrides else ""
        raise TypeError(f"build() takes the model to build as its first argument, e.g. build('transformer-tiny'); "
                        f"got none{given}; the names are list_models()'s")
    check_overrides(name, overrides)
    spec = _spec(name)
    return spec.builder(**{**spec.defaults, **overrides})


def check_overrides(name, overrides):
    """Raise as ``build(name, **overrides)`` would for a name or an override its builder does not take, building
    nothing: a run checks its config before it reads any data.

    Example:
        >>> check_overrides("lstm", {"num_layers": 1})
        Traceback (most recent call last):
        ValueError: model 'lstm' (classification, build_lstm_classifier) does not take num_layers; it accepts: ...
    """
    spec = _spec(name)
    accepted = inspect.signature(spec.builder).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(overrides) - set(accepted))
        if unknown:
            raise ValueError(f"model {name!r} ({spec.task}, {spec.builder.__name__}) does not take "
                             f"{', '.join(unknown)}; it accepts: {', '.join(accepted)}")


def builder_defaults(name):
    """Return the keyword arguments ``build(name)`` calls its builder with where no override is given: the named
    configuration's, and the builder's own defaults for the rest.

    Example:
        >>> builder_defaults("mlm")["d_model"], builder_defaults("transformer-tiny")["d_model"]
        (128, 64)
    """
    spec = _spec(name)
    own = {key: parameter.default for key, parameter in inspect.signature(spec.builder).parameters.items()
           if parameter.default is not inspect.Parameter.empty}
    return {**own, **spec.defaults}


def load_model(path, **kwargs):
    """Load a zoo model saved as a ``.keras`` file (``model.save("m.keras")``), as ``keras.saving.load_model``.

    Keras finds a saved model's classes only once their modules are imported, and ``import zoo`` imports
    none (its parts load on first use): this function is ``keras.saving.load_model`` with zoo's models and
    layers imported, as it is after ``import zoo.models``.

    Args:
        path: The ``.keras`` file.
        **kwargs: Passed to ``keras.saving.load_model`` (``compile``, ``safe_mode``, ``custom_objects``).

    Example:
        >>> build("lm", vocab_size=100, sequence_length=16, num_layers=1).save("lm.keras")
        >>> type(load_model("lm.keras")).__name__
        'CausalLM'
    """
    import importlib
    from pathlib import Path

    import keras

    folder = Path(path)
    if folder.is_dir():  # Keras's own error names its file format only
        if (folder / "config.yaml").is_file():
            raise ValueError(f"{folder} is a zoo run directory, not a .keras file: zoo.load_run({str(folder)!r}) "
                             "returns its model, tokenizer, label names and config")
        if any(folder.glob("saved_model.pb")) or any(folder.glob("*/saved_model.pb")):
            raise ValueError(f"{folder} is an exported SavedModel, not a .keras file: "
                             f"zoo.load_predictor({str(folder)!r}) serves it")
    # This module's package, zoo.models, has registered the models; zoo.layers registers every layer, also any that
    # no model of zoo uses.
    importlib.import_module("zoo.layers")
    return keras.saving.load_model(path, **kwargs)


def config_of(name):
    """Return the keyword arguments the named configuration sets, for configs and tuning spaces (the builder's
    own defaults for the rest: ``builder_defaults``).

    Example:
        >>> config_of("transformer-tiny")
        {'vocab_size': 20000, 'sequence_length': 128, 'num_classes': 2, 'num_layers': 2, 'd_model': 64,
         'num_heads': 2, 'ff_dim': 128}
    """
    return dict(_spec(name).defaults)


def task_of(name):
    """Return the task of the named model: ``classification``, ``lm``, ``mlm`` or ``seq2seq``.

    Example:
        >>> task_of("lstm"), task_of("lm")
        ('classification', 'lm')
    """
    return _spec(name).task


def list_models():
    """Return one ``ModelInfo(name, description, params, task)`` per named model, params at the default sizes.

    Example:
        >>> [m.name for m in list_models()][:3]
        ['cnn', 'lm', 'lstm']
    """
    return [ModelInfo(name, _REGISTRY[name].description, _default_params(name), _REGISTRY[name].task)
            for name in model_names()]


@functools.cache
def _default_params(name):
    """Parameters of model ``name`` at its default sizes.

    Counted once per process: the registry is fixed, and building all eight models took ~3 s on every call.
    """
    return int(build(name).count_params())
