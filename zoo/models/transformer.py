"""The Transformer text classifier (and encoder backbone) built from zoo layers."""
import keras

from zoo.layers import ClassificationHead, TokenAndPositionEmbedding, TransformerEncoderBlock
from zoo.layers import _validation as check

POSITIONAL = ("learned", "sinusoidal", "rotary")


def build_transformer(vocab_size, sequence_length, num_classes=2, *, num_layers=2, d_model=128, num_heads=4,
                      ff_dim=256, dropout=0.1, attention_dropout=0.0, activation="gelu", pooling="mean",
                      positional="learned", norm_first=True, mode="multiclass", head_hidden_dim=None,
                      head_dropout=None, name="transformer_classifier"):
    """Build a Transformer encoder classifier over token ids (``0`` is padding and is masked everywhere).

    Args:
        vocab_size: Number of token ids (the tokenizer's vocabulary size).
        sequence_length: Longest input the position signal covers; shorter inputs are accepted.
        num_classes: Classes to predict; ``None`` returns the encoder backbone (``[batch, T, d_model]``).
        num_layers: Encoder blocks.
        d_model: Hidden size.
        num_heads: Attention heads; must divide ``d_model``.
        ff_dim: Feed-forward hidden size.
        dropout: Residual and embedding dropout.
        attention_dropout: Dropout on attention probabilities (off by default: slow for little gain).
        activation: Feed-forward activation: ``relu``, ``gelu``, ``leaky_relu`` or ``swish``.
        pooling: ``cls``, ``mean``, ``max`` or ``attention``; ``cls`` expects a ``[CLS]`` token first.
        positional: ``learned``, ``sinusoidal`` or ``rotary``.
        norm_first: Pre-LN blocks (stable, with a final layer norm) or post-LN (the original layout).
        mode: ``multiclass``, ``binary`` (one logit) or ``multilabel``.
        head_hidden_dim: Optional hidden layer in the head.
        head_dropout: Dropout before the logits; defaults to ``dropout``.
        name: Model name.

    Returns:
        A ``keras.Model`` from int32 ids ``[batch, T]`` to float32 logits (or the sequence, for a backbone).

    Example:
        >>> model = build_transformer(vocab_size=20000, sequence_length=128, num_classes=2)
        >>> model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        ...               metrics=["accuracy"])
    """
    check.positive_int("vocab_size", vocab_size)
    check.positive_int("sequence_length", sequence_length)
    check.positive_int("num_layers", num_layers)
    check.choice("positional", positional, POSITIONAL)
    check.rate("dropout", dropout)
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = TokenAndPositionEmbedding(
        vocab_size, sequence_length, d_model, positional="none" if positional == "rotary" else positional,
        mask_zero=True, name="embedding",
    )(token_ids)
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for i in range(num_layers):
        x = TransformerEncoderBlock(
            d_model, num_heads, ff_dim, dropout=dropout, attention_dropout=attention_dropout,
            activation=activation, norm_first=norm_first, use_rotary=positional == "rotary",
            name=f"encoder_{i}",
        )(x)
    if norm_first:
        x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    if num_classes is None:
        return keras.Model(token_ids, x, name=name)
    logits = ClassificationHead(
        num_classes, pooling=pooling, mode=mode, hidden_dim=head_hidden_dim,
        dropout=dropout if head_dropout is None else head_dropout, name="head",
    )(x)
    return keras.Model(token_ids, logits, name=name)
