"""``build_transformer``: the Transformer text classifier (or its bare backbone) from builder arguments."""
import inspect

from zoo.layers import _validation as check
from zoo.layers.dropout import dropout_rate
from zoo.models.backbone import Backbone
from zoo.models.classifier import TextClassifier


def build_transformer(vocab_size, sequence_length, num_classes=2, *, num_layers=2, d_model=128, num_heads=4,
                      ff_dim=256, dropout=0.1, attention_dropout=0.0, activation="gelu", pooling="mean",
                      positional="learned", norm_first=True, mode="multiclass", head_hidden_dim=None,
                      head_dropout=None, num_segments=None, pad_id=0, skip_padding=None,
                      name="transformer_classifier"):
    """Build a Transformer encoder classifier over token ids (``pad_id`` is padding and is masked everywhere).

    Args:
        vocab_size: Number of token ids (the tokenizer's vocabulary size).
        sequence_length: Longest input the position signal covers; shorter inputs are accepted.
        num_classes: Classes to predict; ``None`` returns the bare ``Backbone``.
        num_layers: Encoder blocks.
        d_model: Hidden size.
        num_heads: Attention heads; must divide ``d_model``.
        ff_dim: Feed-forward hidden size.
        dropout: Residual and embedding dropout.
        attention_dropout: Dropout on attention probabilities (off by default: slow for little gain).
        activation: Feed-forward activation: ``relu``, ``gelu`` (exact), ``gelu_tanh``, ``leaky_relu`` or ``swish``.
        pooling: ``cls``, ``mean``, ``max`` or ``attention``; ``cls`` expects a ``[CLS]`` token first.
        positional: ``learned``, ``sinusoidal`` or ``rotary``.
        norm_first: Pre-LN blocks (stable, with a final layer norm) or post-LN (the original layout).
        mode: ``multiclass``, ``binary`` (one logit) or ``multilabel``.
        head_hidden_dim: Optional hidden layer in the head.
        head_dropout: Dropout before the logits; defaults to ``dropout``.
        num_segments: Segment (token-type) ids the model takes beside the tokens, e.g. 2 for sentence pairs; the
            classifier then takes ``{"token_ids", "segment_ids"}``.
        pad_id: The tokenizer's padding id.
        skip_padding: Compute everything but attention on the real tokens only (``Backbone``); ``None``: on where
            the backend allows it (TensorFlow).
        name: Model name.

    Returns:
        A ``zoo.models.TextClassifier`` from int32 ids ``[batch, T]`` to float32 logits, or the ``Backbone``.

    Example:
        >>> model = build_transformer(vocab_size=20000, sequence_length=128, num_classes=2)
        >>> model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        ...               metrics=["accuracy"])
        >>> tuple(model(np.array([[2, 57, 31, 0]])).shape)
        (1, 2)
    """
    backbone = Backbone(
        vocab_size, sequence_length, num_layers=num_layers, d_model=d_model, num_heads=num_heads, ff_dim=ff_dim,
        dropout=dropout, attention_dropout=attention_dropout, activation=activation, positional=positional,
        norm_first=norm_first, num_segments=num_segments, skip_padding=skip_padding,
        name=name if num_classes is None else "backbone",
    )
    if num_classes is None:
        defaults = inspect.signature(build_transformer).parameters
        head = [f"{key}={value!r}" for key, value in (("pooling", pooling), ("mode", mode), ("pad_id", pad_id),
                                                       ("head_hidden_dim", head_hidden_dim),
                                                       ("head_dropout", head_dropout))
                if value != defaults[key].default]
        if head:
            raise ValueError(f"num_classes=None builds the bare backbone, which has no classification head: "
                             f"{', '.join(head)} would not apply; remove {'it' if len(head) == 1 else 'them'} or "
                             "give num_classes")
        return backbone
    check_head_arguments(head_hidden_dim, head_dropout)
    return TextClassifier(
        backbone, num_classes, pooling=pooling, mode=mode, hidden_dim=head_hidden_dim,
        dropout=dropout if head_dropout is None else head_dropout, pad_id=pad_id, name=name,
    )


def check_head_arguments(head_hidden_dim=None, head_dropout=None):
    """Raise a ValueError naming ``head_hidden_dim`` or ``head_dropout`` for a value the classifier head refuses.

    Checked under these names: the head calls them ``hidden_dim`` and ``dropout``, which read as the backbone's.

    Example:
        >>> check_head_arguments(head_dropout=1.5)
        Traceback (most recent call last):
        ValueError: `head_dropout` must be a float in [0, 1), got 1.5
    """
    check.positive_int("head_hidden_dim", head_hidden_dim, allow_none=True)
    if head_dropout is not None:
        dropout_rate("head_dropout", head_dropout)
