"""Model builders and the named-model registry (``keras`` only: runs on every backend)."""
from zoo.models.baselines import build_cnn_classifier, build_lstm_classifier
from zoo.models.generation import generate
from zoo.models.generative import build_lm, build_mlm, build_seq2seq, transfer_encoder_weights
from zoo.models.inspect import attention_maps
from zoo.models.registry import ModelInfo, UnknownModelError, build, config_of, list_models, model_names, task_of
from zoo.models.transformer import build_transformer

__all__ = [
    "ModelInfo",
    "UnknownModelError",
    "attention_maps",
    "build",
    "build_cnn_classifier",
    "build_lm",
    "build_lstm_classifier",
    "build_mlm",
    "build_seq2seq",
    "build_transformer",
    "config_of",
    "generate",
    "list_models",
    "model_names",
    "task_of",
    "transfer_encoder_weights",
]
