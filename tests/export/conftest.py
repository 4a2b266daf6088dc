"""Fixtures: a tiny trained classifier, its export, a real training run directory, built once; a tiny lm."""
import pytest

import zoo
from tests.export.tiny import once, sentiment_texts, train_run_dir, train_tiny
from zoo.data import build_tokenizer
from zoo.export.saved_model import export_model


@pytest.fixture(scope="session")
def tiny_run():
    def build():
        texts, labels = sentiment_texts(400, seed=0)
        return train_tiny(texts, labels, ["negative", "positive"])

    return once("tiny_run", build)


@pytest.fixture(scope="session")
def exported(tiny_run, tmp_path_factory):
    """The tiny classifier exported to ``<tmp>/models/tiny/1``."""
    base = tmp_path_factory.mktemp("models") / "tiny"
    return export_model(tiny_run.model, tiny_run.tokenizer, tiny_run.label_names, tiny_run.config, out=base)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """``zoo.train``'s result for a small synthetic data set; ``.run_dir`` is a finished run directory."""
    return once("trained_run", lambda: train_run_dir(tmp_path_factory.mktemp("trained")))


@pytest.fixture(scope="session")
def bert_pairs(tmp_path_factory):
    """A random BERT checkpoint's tokenizer, a pair model over it and zoo predict's in-memory pair predictor.

    Shared by the pair tests (flags, segment ids): building the model and tracing the pair graph is most of their
    cost.
    """
    from tests.converters.checkpoints import write_bert_checkpoint
    from zoo.converters import load_tokenizer
    from zoo.export.predict import InMemoryPredictor

    import zoo

    tokenizer = load_tokenizer(write_bert_checkpoint(tmp_path_factory.mktemp("bert"))[0])
    # untrained: the flags do not depend on the weights, and its random segment embeddings tell the segments apart;
    # skip_padding=False traces in half the time
    model = zoo.build("transformer-tiny", vocab_size=tokenizer.vocab_size, sequence_length=16, num_classes=2,
                      num_layers=1, num_segments=2, skip_padding=False)
    # zoo predict's in-memory path runs the graph the export saves (a pair export's serving_default is serve_pairs)
    return tokenizer, model, InMemoryPredictor(model, tokenizer, ["no", "yes"], pairs=True)


@pytest.fixture(scope="module")
def lm():
    """A tiny untrained lm and its word tokenizer (each module gets its own)."""
    tokenizer = build_tokenizer("word_core", vocab_size=40).fit(["a b c", "c b a"])
    model = zoo.build("lm", vocab_size=tokenizer.vocab_size, sequence_length=8, num_layers=1, d_model=16,
                      num_heads=2, ff_dim=32)
    return model, tokenizer
