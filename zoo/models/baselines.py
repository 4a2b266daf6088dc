"""Classic baselines beside the Transformer: a (Bi)LSTM and a Kim (2014) style CNN."""
import keras

from zoo.layers import Dropout
from zoo.layers import _validation as check
from zoo.layers.dropout import dropout_rate
from zoo.layers.heads import MODES, output_units
from zoo.models.base import FunctionalModel
from zoo.models.task import check_pad_id, padding_mask


class _Baseline(FunctionalModel):
    """What the baselines share: a token table, dropout, float32 logits, and the classifier attributes."""

    # Neither baseline has a position range (any length is accepted) nor segment inputs.
    sequence_length = None
    num_segments = None

    def _start(self, vocab_size, embedding_dim, num_classes, dropout, mode, pad_id, dtype):
        self.vocab_size = check.positive_int("vocab_size", vocab_size)
        check.positive_int("embedding_dim", embedding_dim)
        self.num_classes = num_classes
        self.mode = check.choice("mode", mode, MODES)
        self.pad_id = check_pad_id(pad_id, vocab_size)
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, dtype=dtype, name="embedding")
        self.dropout_layer = Dropout(dropout_rate("dropout", dropout), dtype=dtype, name="dropout")
        # float32 logits under mixed precision keep the loss numerically stable.
        self.logits = keras.layers.Dense(output_units(num_classes, mode), dtype="float32", name="logits")
        return keras.Input(shape=(None,), dtype="int32", name="token_ids")

    def get_config(self):
        config = super().get_config()
        config.update({"vocab_size": self.vocab_size, "embedding_dim": self.embedding.output_dim,
                       "num_classes": self.num_classes, "dropout": self.dropout_layer.rate, "mode": self.mode,
                       "pad_id": self.pad_id})
        return config


@keras.saving.register_keras_serializable(package="zoo")
class LSTMClassifier(_Baseline):
    """Embedding → (Bi)LSTM → dropout → logits; ``pad_id`` positions are masked out of the recurrence.

    Args:
        vocab_size: Number of token ids.
        num_classes: Classes to predict.
        embedding_dim: Embedding size.
        units: LSTM units (per direction).
        bidirectional: Read the sequence both ways.
        dropout: Dropout before the output layer.
        mode: ``multiclass``, ``binary`` or ``multilabel``.
        pad_id: The tokenizer's padding id.
        dtype: Dtype policy of the task's own layers; ``None`` follows the global policy.
        **kwargs: ``name`` and other ``keras.Model`` arguments.

    Example:
        >>> tuple(LSTMClassifier(vocab_size=5000, num_classes=2)(np.array([[5, 9, 0]])).shape)
        (1, 2)
    """

    masks_padding = True

    def __init__(self, vocab_size, num_classes=2, *, embedding_dim=128, units=128, bidirectional=True, dropout=0.3,
                 mode="multiclass", pad_id=0, dtype=None, **kwargs):
        token_ids = self._start(vocab_size, embedding_dim, num_classes, dropout, mode, pad_id, dtype)
        check.positive_int("units", units)
        bidirectional = check.flag("bidirectional", bidirectional)
        recurrent = keras.layers.LSTM(units, dtype=dtype, name="lstm")
        if bidirectional:
            recurrent = keras.layers.Bidirectional(recurrent, dtype=dtype, name="bilstm")
        self.recurrent = recurrent
        x = self.recurrent(self.embedding(token_ids), mask=padding_mask(token_ids, pad_id))
        super().__init__(inputs=token_ids, outputs=self.logits(self.dropout_layer(x)), dtype=dtype, **kwargs)
        self.units = units
        self.bidirectional = bidirectional

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "bidirectional": self.bidirectional})
        return config


def _check_filter_sizes(filter_sizes):
    """Return ``filter_sizes`` if it is a non-empty list of distinct positive widths, else raise a ValueError."""
    if not isinstance(filter_sizes, (list, tuple)) or not filter_sizes:
        raise ValueError(f"`filter_sizes` must be a non-empty list of convolution widths, e.g. [3, 4, 5], got "
                         f"{filter_sizes!r}")
    for size in filter_sizes:
        check.positive_int("filter_sizes", size)
    if len(set(filter_sizes)) < len(filter_sizes):
        # One convolution per width, named by it: a repeated width would be a second layer of the same name.
        raise ValueError(f"`filter_sizes` must not repeat a width, got {list(filter_sizes)}: raise num_filters "
                         "for more filters of one width")
    return filter_sizes


@keras.saving.register_keras_serializable(package="zoo")
class CNNClassifier(_Baseline):
    """Kim's CNN: embedding → parallel Conv1D (one per filter size) → max-over-time → dropout → logits.

    Max-over-time pooling sees padded positions, so the CNN is trained, evaluated and served on rows padded to
    its full ``sequence_length`` (``masks_padding`` is false): a text's logits do not depend on its batch.

    Args:
        vocab_size: Number of token ids.
        num_classes: Classes to predict.
        embedding_dim: Embedding size.
        filter_sizes: Convolution widths; inputs must be at least ``max(filter_sizes)`` long.
        num_filters: Filters per width.
        dropout: Dropout before the output layer.
        mode: ``multiclass``, ``binary`` or ``multilabel``.
        pad_id: The tokenizer's padding id.
        dtype: Dtype policy of the task's own layers; ``None`` follows the global policy.
        **kwargs: ``name`` and other ``keras.Model`` arguments.

    Example:
        >>> tuple(CNNClassifier(vocab_size=5000, num_classes=2)(np.array([[5, 9, 7, 1, 0]])).shape)
        (1, 2)
    """

    masks_padding = False

    def __init__(self, vocab_size, num_classes=2, *, embedding_dim=128, filter_sizes=(3, 4, 5), num_filters=100,
                 dropout=0.5, mode="multiclass", pad_id=0, dtype=None, **kwargs):
        token_ids = self._start(vocab_size, embedding_dim, num_classes, dropout, mode, pad_id, dtype)
        check.positive_int("num_filters", num_filters)
        _check_filter_sizes(filter_sizes)
        self.convolutions = [keras.layers.Conv1D(num_filters, size, activation="relu", dtype=dtype, name=f"conv_{size}")
                             for size in filter_sizes]
        x = self.embedding(token_ids)
        pooled = [keras.ops.max(conv(x), axis=1) for conv in self.convolutions]
        x = keras.ops.concatenate(pooled, axis=-1) if len(pooled) > 1 else pooled[0]
        super().__init__(inputs=token_ids, outputs=self.logits(self.dropout_layer(x)), dtype=dtype, **kwargs)
        self.filter_sizes = [int(size) for size in filter_sizes]
        self.num_filters = num_filters

    def get_config(self):
        config = super().get_config()
        config.update({"filter_sizes": self.filter_sizes, "num_filters": self.num_filters})
        return config


def build_lstm_classifier(vocab_size, sequence_length, num_classes=2, *, embedding_dim=128, units=128,
                          bidirectional=True, dropout=0.3, mode="multiclass", pad_id=0, name="lstm_classifier"):
    """Build an ``LSTMClassifier``: Embedding → (Bi)LSTM → Dense; padding is masked out of the recurrence.

    The keyword arguments are ``LSTMClassifier``'s.

    Args:
        vocab_size: Number of token ids.
        sequence_length: Nominal input length (inputs may be shorter; kept for a uniform builder signature).
        num_classes: Classes to predict.

    Example:
        >>> model = build_lstm_classifier(vocab_size=5000, sequence_length=64, num_classes=2)
        >>> model.count_params()
        903682
    """
    check.positive_int("sequence_length", sequence_length)
    return LSTMClassifier(vocab_size, num_classes, embedding_dim=embedding_dim, units=units,
                          bidirectional=bidirectional, dropout=dropout, mode=mode, pad_id=pad_id, name=name)


def build_cnn_classifier(vocab_size, sequence_length, num_classes=2, *, embedding_dim=128,
                         filter_sizes=(3, 4, 5), num_filters=100, dropout=0.5, mode="multiclass", pad_id=0,
                         name="cnn_classifier"):
    """Build a ``CNNClassifier``: Embedding → parallel Conv1D (one per filter size) → max-over-time → Dense.

    The keyword arguments are ``CNNClassifier``'s.

    Args:
        vocab_size: Number of token ids.
        sequence_length: Nominal input length; inputs must be at least ``max(filter_sizes)`` long.
        num_classes: Classes to predict.

    Example:
        >>> model = build_cnn_classifier(vocab_size=5000, sequence_length=64, num_classes=2)
        >>> model.count_params()
        794502
    """
    check.positive_int("sequence_length", sequence_length)
    if sequence_length < max(_check_filter_sizes(filter_sizes)):
        raise ValueError(f"`sequence_length`={sequence_length} is shorter than the widest of `filter_sizes` "
                         f"{list(filter_sizes)}, which no input of that length fills: use a longer sequence_length "
                         "or narrower filters")
    return CNNClassifier(vocab_size, num_classes, embedding_dim=embedding_dim, filter_sizes=filter_sizes,
                         num_filters=num_filters, dropout=dropout, mode=mode, pad_id=pad_id, name=name)
