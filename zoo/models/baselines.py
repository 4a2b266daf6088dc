"""Classic baselines beside the Transformer: a (Bi)LSTM and a Kim (2014) style CNN."""
import keras

from zoo.layers import _validation as check
from zoo.layers.heads import output_units


def _logits(x, num_classes, mode):
    # float32 logits under mixed precision keep the loss numerically stable.
    return keras.layers.Dense(output_units(num_classes, mode), dtype="float32", name="logits")(x)


def build_lstm_classifier(vocab_size, sequence_length, num_classes=2, *, embedding_dim=128, units=128,
                          bidirectional=True, dropout=0.3, mode="multiclass", name="lstm_classifier"):
    """Build Embedding → (Bi)LSTM → Dense; padding (id 0) is masked out of the recurrence.

    Args:
        vocab_size: Number of token ids.
        sequence_length: Nominal input length (inputs may be shorter; kept for a uniform builder signature).
        num_classes: Classes to predict.
        embedding_dim: Embedding size.
        units: LSTM units (per direction).
        bidirectional: Read the sequence both ways.
        dropout: Dropout before the output layer.
        mode: ``multiclass``, ``binary`` or ``multilabel``.
        name: Model name.

    Example:
        >>> model = build_lstm_classifier(vocab_size=5000, sequence_length=64, num_classes=2)
    """
    check.positive_int("vocab_size", vocab_size)
    check.positive_int("sequence_length", sequence_length)
    check.positive_int("embedding_dim", embedding_dim)
    check.positive_int("units", units)
    check.rate("dropout", dropout)
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(token_ids)
    recurrent = keras.layers.LSTM(units, name="lstm")
    if bidirectional:
        recurrent = keras.layers.Bidirectional(recurrent, name="bilstm")
    x = recurrent(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(token_ids, _logits(x, num_classes, mode), name=name)


def build_cnn_classifier(vocab_size, sequence_length, num_classes=2, *, embedding_dim=128,
                         filter_sizes=(3, 4, 5), num_filters=100, dropout=0.5, mode="multiclass",
                         name="cnn_classifier"):
    """Build Kim's CNN: Embedding → parallel Conv1D (one per filter size) → max-over-time → Dense.

    Args:
        vocab_size: Number of token ids.
        sequence_length: Nominal input length; inputs must be at least ``max(filter_sizes)`` long.
        num_classes: Classes to predict.
        embedding_dim: Embedding size.
        filter_sizes: Convolution widths.
        num_filters: Filters per width.
        dropout: Dropout before the output layer.
        mode: ``multiclass``, ``binary`` or ``multilabel``.
        name: Model name.

    Example:
        >>> model = build_cnn_classifier(vocab_size=5000, sequence_length=64, num_classes=2)
    """
    check.positive_int("vocab_size", vocab_size)
    check.positive_int("sequence_length", sequence_length)
    check.positive_int("embedding_dim", embedding_dim)
    check.positive_int("num_filters", num_filters)
    check.rate("dropout", dropout)
    if not filter_sizes:
        raise ValueError("`filter_sizes` must name at least one width, got an empty list")
    for size in filter_sizes:
        check.positive_int("filter_sizes", size)
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(token_ids)
    pooled = [
        keras.layers.GlobalMaxPooling1D(name=f"max_over_time_{size}")(
            keras.layers.Conv1D(num_filters, size, activation="relu", name=f"conv_{size}")(x))
        for size in filter_sizes
    ]
    x = keras.layers.Concatenate(name="features")(pooled) if len(pooled) > 1 else pooled[0]
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(token_ids, _logits(x, num_classes, mode), name=name)
