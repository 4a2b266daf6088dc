"""A tiny classifier trained for a few steps, shared by the export and evaluation tests."""
import dataclasses
import json

import keras
import numpy as np
import tensorflow as tf

import zoo
from zoo.config import Config
from zoo.data import build_tokenizer

POSITIVE = "great superb moving funny gripping charming brilliant delightful".split()
NEGATIVE = "dull boring awful tedious clumsy bland dreadful lifeless".split()
FILLER = "the film movie plot acting story was is a and with its cast script director ending".split()


@dataclasses.dataclass
class TinyRun:
    model: keras.Model
    tokenizer: object
    label_names: list
    config: Config
    texts: list
    labels: np.ndarray
    history: dict


def sentiment_texts(n, seed=0):
    """``n`` short English sentences whose sentiment words decide the label (0 negative, 1 positive)."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(0, 2))
        cue = rng.choice(POSITIVE if label else NEGATIVE, size=int(rng.integers(1, 3)))
        words = list(rng.choice(FILLER, size=int(rng.integers(3, 9)))) + list(cue)
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + ("!" if rng.random() < 0.3 else "."))
        labels.append(label)
    return texts, np.array(labels, dtype=np.int32)


def train_tiny(texts, labels, label_names, *, tokenizer="word", mode="multiclass", sequence_length=24, epochs=2,
               pooling="mean", vocab_size=2000, seed=0):
    """Fit a tokenizer and a 1-layer Transformer for a few epochs; returns a :class:`TinyRun`."""
    keras.utils.set_random_seed(seed)
    tok = build_tokenizer(tokenizer, vocab_size, add_cls=pooling == "cls").fit(texts)
    config = Config.from_dict({
        "data": {"source": "inline", "tokenizer": tokenizer, "vocab_size": vocab_size,
                 "sequence_length": sequence_length},
        "model": {"name": "transformer-tiny", "overrides": {"num_layers": 1, "pooling": pooling, "mode": mode}},
        "training": {"epochs": epochs, "batch_size": 32, "seed": seed},
    })
    num_classes = 1 if mode == "binary" else len(label_names)
    model = zoo.build("transformer-tiny", vocab_size=tok.vocab_size, sequence_length=sequence_length,
                      num_classes=num_classes, num_layers=1, pooling=pooling, mode=mode, dropout=0.0)
    ids = tok.encode(tf.constant(texts), sequence_length).numpy()
    y = np.asarray(labels)
    if mode == "multiclass":
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        y = y.reshape(len(y), -1).astype("float32")
    model.compile(keras.optimizers.Adam(3e-3), loss)
    history = model.fit(ids, y, batch_size=32, epochs=epochs, validation_split=0.2, verbose=0, shuffle=False)
    return TinyRun(model, tok, list(label_names), config, list(texts), np.asarray(labels), history.history)


_SESSION = {}


def once(key, factory):
    """Build ``factory()`` once per test process: the export and evaluation tests share these objects."""
    if key not in _SESSION:
        _SESSION[key] = factory()
    return _SESSION[key]


def write_jsonl(path, texts, labels, label_names):
    """Write labelled texts as the JSONL that ``zoo.data.load`` reads (``text`` and ``label`` keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for text, label in zip(texts, labels):
            f.write(json.dumps({"text": text, "label": label_names[label]}) + "\n")
    return path


def train_run_dir(base):
    """A real ``zoo.train`` run on 400 synthetic sentences (1-layer tiny Transformer, 2 epochs) under ``base``."""
    from zoo.training.run import train

    texts, labels = sentiment_texts(400, seed=5)
    data = write_jsonl(base / "sentiment.jsonl", texts, labels, ["negative", "positive"])
    return train({
        "data": {"source": str(data), "vocab_size": 500, "sequence_length": 24, "validation_split": 0.1,
                 "test_split": 0.2},
        "model": {"name": "transformer-tiny", "overrides": {"num_layers": 1}},
        "training": {"epochs": 2, "batch_size": 32, "seed": 3},
        "output": {"dir": str(base / "run"), "tensorboard": False, "progress": "none"},
    })
