"""Import pretrained checkpoints: Hugging Face BERT folders and keras-hub BERT presets (safetensors / h5 only).

    import zoo
    model, tokenizer = zoo.from_pretrained("checkpoints/all-MiniLM-L6-v2", num_classes=2)
    inputs = tokenizer.pack(tf.constant(["a gripping film"]), sequence_length=64)
    logits = model({"token_ids": inputs["token_ids"], "segment_ids": inputs["segment_ids"]})

TensorFlow-free until a model is built; reading weights needs only numpy, safetensors and h5py.
"""
from zoo._lazy import lazy_exports

_LAZY = {
    "from_pretrained": "zoo.converters.pretrained",
    "Pretrained": "zoo.converters.pretrained",
    "load_tokenizer": "zoo.converters.pretrained",
    "is_checkpoint_folder": "zoo.converters.pretrained",
    "CheckpointError": "zoo.converters.errors",
    "UnsupportedCheckpointError": "zoo.converters.errors",
    "WeightMismatchError": "zoo.converters.errors",
    "CheckpointFileNotFoundError": "zoo.converters.errors",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
