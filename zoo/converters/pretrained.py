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


# Names from_pretrained once took for what build_transformer calls otherwise -> the name to use now.
RENAMED = {"hidden_dim": "head_hidden_dim", "backbone_options": "dropout and attention_dropout"}


def from_pretrained(path, task="classification", *, num_classes=None, pooling=None, mode=None, head_hidden_dim=None,
                    head_dropout=None, dropout=None, attention_dropout=None, dtype=None, **renamed):
    """Load a BERT checkpoint folder as a zoo model with the checkpoint's tokenizer.

    The backbone is post-LN with learned positions, segment embeddings and an embedding LayerNorm, its
    activation, epsilon and sizes mapped exactly from the config; every weight is checked before any is copied
    (see ``zoo.converters.porting``). The classifier's head is new (random), as is any task head. The keywords
    are ``build_transformer``'s (and ``model.overrides``'): ``dropout`` is the encoder's rate, ``head_*`` the head's.

    Args:
        path: A Hugging Face BERT folder (``config.json``, ``model.safetensors`` or a sharded index,
            ``vocab.txt``, ``tokenizer_config.json``) or a keras-hub ``BertBackbone`` preset folder.
        task: ``"classification"`` for a ``TextClassifier``, ``None`` for the bare ``Backbone``.
        num_classes: Classes of the classifier (required for classification).
        pooling: ``mean`` (default), ``cls``, ``max``, ``attention``, or ``pooled`` (BERT's tanh pooler).
        mode: ``multiclass`` (default), ``binary`` or ``multilabel``.
        head_hidden_dim: Optional hidden layer in the head.
        head_dropout: Dropout before the logits; defaults to the backbone's ``dropout``.
        dropout: Residual and embedding dropout of the backbone; default: the checkpoint config's
            ``hidden_dropout_prob``.
        attention_dropout: Dropout on attention probabilities; default: ``attention_probs_dropout_prob``.
        dtype: Dtype policy of the model; ``None`` follows the global policy.

    Returns:
        ``Pretrained(model, tokenizer)``.

    Raises:
        CheckpointFileNotFoundError: A missing folder or file (named).
        UnsupportedCheckpointError: Another architecture, activation or task (the supported ones listed).
        WeightMismatchError: Checkpoint weights left unused or model weights left unfilled (named).
        TypeError: An unknown keyword (a former name, ``hidden_dim`` or ``backbone_options``, names its successor).

    Example:
        >>> model, tokenizer = zoo.from_pretrained("checkpoints/all-MiniLM-L6-v2", num_classes=2, head_dropout=0.2)
        >>> inputs = tokenizer.pack(tf.constant(["a gripping film"]), sequence_length=16)
        >>> model({"token_ids": inputs["token_ids"], "segment_ids": inputs["segment_ids"]}).shape
        TensorShape([1, 2])
    """
    from zoo.models import Backbone, TextClassifier
    from zoo.models.transformer import check_head_arguments

    if renamed:
        raise TypeError("from_pretrained() got " + ", ".join(
            f"{key} (use {RENAMED[key]})" if key in RENAMED else f"an unexpected keyword {key}" for key in renamed)
            + "; it takes build_transformer's names: num_classes, pooling, mode, head_hidden_dim, head_dropout, "
            "dropout, attention_dropout, dtype")
    if task not in TASKS:
        raise UnsupportedCheckpointError(f"task {task!r} is not supported; supported: "
                                         f"{', '.join(repr(t) for t in TASKS)}")
    if task == "classification" and num_classes is None:
        raise ValueError("task 'classification' needs num_classes")
    head = {key: value for key, value in (("num_classes", num_classes), ("pooling", pooling), ("mode", mode),
                                          ("head_hidden_dim", head_hidden_dim), ("head_dropout", head_dropout))
            if value is not None}
    if task is None and head:
        raise ValueError(f"task None (the bare backbone) takes no task arguments, got {sorted(head)}")
    check_head_arguments(head_hidden_dim, head_dropout)
    started = time.perf_counter()
    folder = Path(path)
    config, layout = read_config(folder)
    arguments = layout.backbone_arguments(config, folder / CONFIG_FILE)
    # The only backbone arguments that leave the weights' meaning as trained (fine-tuning regularisation).
    arguments.update({key: value for key, value in (("dropout", dropout), ("attention_dropout", attention_dropout))
                      if value is not None})
    tokenizer = load_tokenizer(folder)
    if tokenizer.vocab_size > arguments["vocab_size"]:
        raise CheckpointError(f"the tokenizer has {tokenizer.vocab_size} tokens but the model embeds only "
                              f"{arguments['vocab_size']}", path=folder / CONFIG_FILE, key="vocab_size")
    weights = layout.read_weights(folder)
    pooled = pooling == "pooled"
    if pooled and not layout.has_pooler(weights):
        raise CheckpointError("pooling='pooled' needs the checkpoint's pooler, which it does not have: pool with "
                              "cls, mean, max or attention", path=folder)
    pooler = pooled or (task is None and layout.has_pooler(weights))
    backbone = Backbone(**arguments, pooler=pooler, dtype=dtype)
    allowed = layout.HEADS + (() if pooler else (layout.POOLER,))
    report = port(layout.transfers(backbone), weights, backbone.weights, unused_allowed=allowed, source=folder)
    for reason, keys in report.ignored.items():
        log.info("%s: left %d weights unused: %s", folder, len(keys), reason)
    # As build_transformer's, the head's dropout defaults to the encoder's (BERT's classifier: hidden_dropout_prob).
    model = backbone if task is None else TextClassifier(
        backbone, num_classes, pooling=pooling or "mean", mode=mode or "multiclass", hidden_dim=head_hidden_dim,
        dropout=arguments["dropout"] if head_dropout is None else head_dropout, pad_id=tokenizer.pad_id, dtype=dtype)
    log.info("loaded %s (%d weights) in %.2f s", folder, len(report.filled), time.perf_counter() - started)
    return Pretrained(model, tokenizer)
