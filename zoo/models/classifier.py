"""The text classifier task: a backbone, then a pooling head."""
import keras

from zoo.layers import ClassificationHead
from zoo.models.task import BackboneTask, check_backbone, ids_or_dict, token_inputs


@keras.saving.register_keras_serializable(package="zoo")
class TextClassifier(BackboneTask):
    """Classifies token ids with a ``Backbone`` and a ``ClassificationHead``; ``pad_id`` positions are masked.

    Takes int ids ``[batch, T]``, or, when the backbone has segments, ``{"token_ids", "segment_ids"}`` (e.g.
    sentence pairs ``[CLS] A [SEP] B [SEP]`` with segments ``0 ... 0 1 ... 1``). Returns float32 logits.

    Args:
        backbone: A bidirectional ``zoo.models.Backbone``.
        num_classes: Classes to predict.
        pooling: ``cls``, ``mean``, ``max``, ``attention`` over ``sequence_output``, or ``pooled``: the
            backbone's ``pooled_output`` (needs a backbone with a pooler, as BERT's).
        mode: ``multiclass``, ``binary`` (one logit) or ``multilabel``.
        hidden_dim: Optional tanh hidden layer in the head.
        dropout: Dropout before the logits.
        pad_id: The tokenizer's padding id.
        dtype: Dtype policy of the task's own layers; ``None`` follows the global policy.
        **kwargs: ``name`` and other ``keras.Model`` arguments.

    Attributes:
        backbone: The backbone.
        head: The ``ClassificationHead``.

    Example:
        >>> classifier = TextClassifier(zoo.models.Backbone(vocab_size=1000, sequence_length=64), num_classes=2)
        >>> tuple(classifier(np.array([[2, 57, 31, 0]])).shape)
        (1, 2)
    """

    def __init__(self, backbone, num_classes=2, *, pooling="mean", mode="multiclass", hidden_dim=None,
                 dropout=0.1, pad_id=0, dtype=None, **kwargs):
        check_backbone(backbone)
        if pooling == "pooled" and backbone.pooler is None:
            raise ValueError(f"`pooling`='pooled' needs a backbone with a pooler; backbone {backbone.name!r} has "
                             "none (build the Backbone with pooler=True, as zoo.from_pretrained does for a BERT checkpoint with a "
                             "pooler, or pool with cls, mean, max or attention)")
        self.backbone = backbone
        self.head = ClassificationHead(num_classes, pooling=pooling, mode=mode, hidden_dim=hidden_dim,
                                       dropout=dropout, dtype=dtype, name="head")

        inputs, backbone_inputs = token_inputs(backbone, pad_id)
        outputs = backbone(backbone_inputs)
        if pooling == "pooled":
            logits = self.head(outputs["pooled_output"])
        else:
            logits = self.head(outputs["sequence_output"], mask=backbone_inputs["padding_mask"])
        super().__init__(inputs=ids_or_dict(inputs), outputs=logits, dtype=dtype, **kwargs)
        self.pad_id = pad_id

    @property
    def masks_padding(self):
        return True

    @property
    def mode(self):
        return self.head.mode

    @property
    def num_classes(self):
        return self.head.num_classes

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_classes": self.head.num_classes,
            "pooling": self.head.pooling,
            "mode": self.head.mode,
            "hidden_dim": self.head.hidden_dim,
            "dropout": self.head.dropout,
        })
        return config
