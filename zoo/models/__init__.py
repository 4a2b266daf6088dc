"""Model builders and the named-model registry (``keras`` only: runs on every backend).

Every model is a task over a ``Backbone`` (or, for the LSTM and CNN baselines, a classifier of its own); parts are
reached through attributes (``model.backbone.blocks``, ``model.head``), never by layer name.
"""
from zoo.models.backbone import ENCODER_KEYS, Backbone, transfer_backbone_weights
from zoo.models.baselines import CNNClassifier, LSTMClassifier, build_cnn_classifier, build_lstm_classifier
from zoo.models.classifier import TextClassifier
from zoo.models.generation import generate
from zoo.models.generative import CausalLM, MaskedLM, build_lm, build_mlm
from zoo.models.inspect import attention_maps
from zoo.models.registry import (
    ModelInfo,
    UnknownModelError,
    build,
    config_of,
    list_models,
    load_model,
    model_names,
    task_of,
)
from zoo.models.seq2seq import Seq2Seq, build_seq2seq
from zoo.models.transformer import build_transformer

__all__ = [
    "ENCODER_KEYS",
    "Backbone",
    "CNNClassifier",
    "CausalLM",
    "LSTMClassifier",
    "MaskedLM",
    "ModelInfo",
    "Seq2Seq",
    "TextClassifier",
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
    "load_model",
    "model_names",
    "task_of",
    "transfer_backbone_weights",
]
