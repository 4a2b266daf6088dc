"""Fixtures: a tiny trained classifier, its export, and a real training run directory, built once."""
import pytest

from tests.export.tiny import once, sentiment_texts, train_run_dir, train_tiny
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
