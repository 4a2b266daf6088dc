"""``zoo.from_pretrained``: a local BERT checkpoint folder as a zoo model, with the checkpoint's own tokenizer.

Two layouts are read (``config.json`` tells them apart): a Hugging Face folder (``model_type: bert``,
``zoo.converters.hf_bert``) and a keras-hub preset (``registered_name: keras_hub>BertBackbone``,
``zoo.converters.keras_hub``). Nothing in the folder is executed or unpickled.
"""
import json
import logging
import time
from pathlib import Path
from typing import NamedTuple

from zoo.converters import hf_bert, keras_hub
from zoo.converters.errors import CheckpointError, CheckpointFileNotFoundError, UnsupportedCheckpointError
from zoo.converters.porting import port

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
TASKS = (None, "classification")


class Pretrained(NamedTuple):
    """What ``from_pretrained`` returns: the model and the tokenizer that gives its ids.

    A named pair, so both ``result.model`` and ``model, tokenizer = from_pretrained(...)`` read well; the
    tokenizer is not attached to the Keras model, which stays a plain, saveable ``keras.Model``.

    Attributes:
        model: A ``zoo.models.TextClassifier`` (``task="classification"``) or the bare ``zoo.models.Backbone``
            (``task=None``).
        tokenizer: The checkpoint's ``zoo.data.BertTokenizer``; ``tokenizer.pack`` gives the backbone's inputs
            (a classifier takes their ``token_ids`` and ``segment_ids`` and masks its padding itself).
    """

    model: object
    tokenizer: object


def read_config(folder):
    """The parsed ``config.json`` of a checkpoint folder and the module that reads its layout.

    Raises:
        CheckpointFileNotFoundError: No such folder (or a file, such as the folder's weights), or no
            ``config.json`` in it.
        UnsupportedCheckpointError: A ``config.json`` of neither layout.
    """
    folder = Path(folder)
    if folder.is_file():
        raise CheckpointFileNotFoundError(f"{folder}: a file, not a checkpoint folder; give the folder that holds "
                                          f"{CONFIG_FILE} and the weights (here perhaps {folder.parent})", path=folder)
    if not folder.is_dir():
        raise CheckpointFileNotFoundError(f"{folder}: checkpoint folder not found", path=folder)
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise CheckpointFileNotFoundError(f"{path}: checkpoint config not found (a Hugging Face or keras-hub "
                                          f"checkpoint folder has a {CONFIG_FILE})", path=path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"not a JSON config ({error})", path=path) from None
    if isinstance(config, dict):
        if hf_bert.is_checkpoint(config):
            return config, hf_bert
        if keras_hub.is_preset(config):
            return config, keras_hub
    raise UnsupportedCheckpointError("neither a Hugging Face config (with model_type) nor a keras-hub preset "
                                     "config (with registered_name)", path=path)


def is_checkpoint_folder(path):
    """Whether ``path`` is a checkpoint folder: one with a ``config.json``, which a zoo run folder never has.

    Whether zoo can read the checkpoint is ``from_pretrained``'s to say, with an error naming what is wrong: a
    checkpoint whose ``config.json`` is broken or of another layout is still a checkpoint, not a zoo run.

    Args:
        path: A folder.

    Example:
        >>> is_checkpoint_folder("checkpoints/all-MiniLM-L6-v2"), is_checkpoint_folder("runs/reviews")
        (True, False)
    """
    return (Path(path) / CONFIG_FILE).is_file()


def load_tokenizer(folder):
    """The ``BertTokenizer`` of a checkpoint folder (``vocab.txt`` + ``tokenizer_config.json``, or a preset's).

    Example:
        >>> load_tokenizer("checkpoints/all-MiniLM-L6-v2").cls_id
        101
    """
    from zoo.data.bert_tokenizer import BertTokenizer

    _, layout = read_config(folder)
    if layout is hf_bert:
        return BertTokenizer.from_pretrained(folder)
    options, vocabulary_path = keras_hub.tokenizer_options(folder)
    return BertTokenizer.from_vocabulary_file(vocabulary_path, **options)


# Backbone arguments a caller may change without changing a weight's meaning (fine-tuning regularisation).
BACKBONE_OPTIONS = ("dropout", "attention_dropout")


def from_pretrained(path, task="classification", *, num_classes=None, dtype=None, backbone_options=None,
                    **task_options):
    """Load a BERT checkpoint folder as a zoo model with the checkpoint's tokenizer.

    The backbone is post-LN with learned positions, segment embeddings and an embedding LayerNorm, its
    activation, epsilon and sizes mapped exactly from the config; every weight is checked before any is copied
    (see ``zoo.converters.porting``). The classifier's head is new (random), as is any task head.

    Args:
        path: A Hugging Face BERT folder (``config.json``, ``model.safetensors`` or a sharded index,
            ``vocab.txt``, ``tokenizer_config.json``) or a keras-hub ``BertBackbone`` preset folder.
        task: ``"classification"`` for a ``TextClassifier``, ``None`` for the bare ``Backbone``.
        num_classes: Classes of the classifier (required for classification).
        dtype: Dtype policy of the model; ``None`` follows the global policy.
        backbone_options: ``{"dropout", "attention_dropout"}`` rates replacing the checkpoint config's
            ``hidden_dropout_prob`` and ``attention_probs_dropout_prob``.
        **task_options: More ``TextClassifier`` arguments: ``pooling`` (``pooled`` uses BERT's tanh pooler),
            ``mode``, ``hidden_dim``, ``dropout``.

    Returns:
        ``Pretrained(model, tokenizer)``.

    Raises:
        CheckpointFileNotFoundError: A missing folder or file (named).
        UnsupportedCheckpointError: Another architecture, activation or task (the supported ones listed).
        WeightMismatchError: Checkpoint weights left unused or model weights left unfilled (named).

    Example:
        >>> model, tokenizer = zoo.from_pretrained("checkpoints/all-MiniLM-L6-v2", num_classes=2)
        >>> inputs = tokenizer.pack(tf.constant(["a gripping film"]), sequence_length=16)
        >>> model({"token_ids": inputs["token_ids"], "segment_ids": inputs["segment_ids"]}).shape
        TensorShape([1, 2])
    """
    from zoo.models import Backbone, TextClassifier

    if task not in TASKS:
        raise UnsupportedCheckpointError(f"task {task!r} is not supported; supported: "
                                         f"{', '.join(repr(t) for t in TASKS)}")
    if task == "classification" and num_classes is None:
        raise ValueError("task 'classification' needs num_classes")
    if task is None and (num_classes is not None or task_options):
        raise ValueError(f"task None (the bare backbone) takes no task arguments, got "
                         f"{sorted(task_options) + (['num_classes'] if num_classes is not None else [])}")
    started = time.perf_counter()
    folder = Path(path)
    config, layout = read_config(folder)
    arguments = layout.backbone_arguments(config, folder / CONFIG_FILE)
    unknown = sorted(set(backbone_options or {}) - set(BACKBONE_OPTIONS))
    if unknown:
        raise ValueError(f"backbone_options {unknown} would change the checkpoint's weights' meaning; allowed: "
                         f"{', '.join(BACKBONE_OPTIONS)}")
    arguments.update(backbone_options or {})
    tokenizer = load_tokenizer(folder)
    if tokenizer.vocab_size > arguments["vocab_size"]:
        raise CheckpointError(f"the tokenizer has {tokenizer.vocab_size} tokens but the model embeds only "
                              f"{arguments['vocab_size']}", path=folder / CONFIG_FILE, key="vocab_size")
    weights = layout.read_weights(folder)
    pooled = task_options.get("pooling") == "pooled"
    if pooled and not layout.has_pooler(weights):
        raise CheckpointError("pooling='pooled' needs the checkpoint's pooler, which it does not have: pool with "
                              "cls, mean, max or attention", path=folder)
    pooler = pooled or (task is None and layout.has_pooler(weights))
    backbone = Backbone(**arguments, pooler=pooler, dtype=dtype)
    allowed = layout.HEADS + (() if pooler else (layout.POOLER,))
    report = port(layout.transfers(backbone), weights, backbone.weights, unused_allowed=allowed, source=folder)
    for reason, keys in report.ignored.items():
        log.info("%s: left %d weights unused: %s", folder, len(keys), reason)
    model = backbone if task is None else TextClassifier(backbone, num_classes, pad_id=tokenizer.pad_id,
                                                         dtype=dtype, **task_options)
    log.info("loaded %s (%d weights) in %.2f s", folder, len(report.filled), time.perf_counter() - started)
    return Pretrained(model, tokenizer)
