"""zoo: a Keras 3 / TensorFlow-native model zoo for Transformers.

Public API (everything else is internal):

    from zoo import build_transformer, build, list_models
    model = build_transformer(vocab_size=20000, sequence_length=128, num_classes=2)
"""
# Private: dir(zoo) lists the module's globals, where a public name would read as part of the API.
import importlib as _importlib
import logging as _logging
import sys as _sys

__version__ = "0.1.0"


class _StderrHandler(_logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is when a record is logged, which pytest's capsys or a notebook replaces."""

    def __init__(self):
        _logging.Handler.__init__(self)  # StreamHandler's would set the stream, which is a property here

    @property
    def stream(self):
        return _sys.stderr


# zoo's warnings print as their bare message ("warning: ..."). Left to the root logger they relied on
# logging.lastResort, and read "WARNING:zoo.training.data:warning: ..." once any library had configured the root
# logger (logging.basicConfig), midway through a session. So the library's root logger prints them itself and stops
# there; logging.getLogger("zoo").propagate = True hands them on to the application's handlers as well.
# The handler's level, not the logger's: an application that sets zoo's (or the root's) level to INFO and
# propagates gets zoo's info lines in its own handlers.
_handler = _StderrHandler()
_handler.setLevel(_logging.WARNING)
_logger = _logging.getLogger("zoo")
_logger.addHandler(_handler)
_logger.propagate = False

# Stage APIs import TensorFlow-only modules (tf.data, tf.distribute, SavedModel), so they load on first
# use: `import zoo` stays cheap and backend-neutral for users who only want the layers on JAX.
_LAZY = {
    "build_transformer": "zoo.models",
    "build_lstm_classifier": "zoo.models",
    "build_cnn_classifier": "zoo.models",
    "build_lm": "zoo.models",
    "build_mlm": "zoo.models",
    "build_seq2seq": "zoo.models",
    "generate": "zoo.models",
    "build": "zoo.models",
    "list_models": "zoo.models",
    # A saved .keras model's classes are registered with Keras once zoo.models is imported, which this does.
    "load_model": "zoo.models",
    "train": "zoo.training",
    "load_run": "zoo.training",
    "get_strategy": "zoo.training",
    "Config": "zoo.config",
    "tune": "zoo.tuning",
    "evaluate": "zoo.evaluation",
    "evaluate_model": "zoo.evaluation",
    "explain": "zoo.evaluation",
    "explain_run": "zoo.evaluation",
    "cross_validate": "zoo.evaluation",
    "generate_texts": "zoo.evaluation",
    "export_model": "zoo.export",
    "export_run": "zoo.export",
    # The function, not the submodule zoo/export/predict.py of the same name.
    "predict": "zoo.export.predict",
    "embed": "zoo.export.embed",
    "predict_file": "zoo.export",
    "load_predictor": "zoo.export",
    "from_pretrained": "zoo.converters",
}
_SUBPACKAGES = ("layers", "models", "data", "training", "tuning", "evaluation", "export", "converters")

__all__ = sorted(set(_LAZY) | set(_SUBPACKAGES))


def __getattr__(name):
    if name in _SUBPACKAGES:
        value = _importlib.import_module(f"zoo.{name}")
    elif name in _LAZY:
        value = getattr(_importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
