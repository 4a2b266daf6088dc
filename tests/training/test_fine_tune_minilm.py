"""The real all-MiniLM-L6-v2 fine-tuned on TREC for one epoch at 32 tokens, then exported (about 2 minutes).

Skipped, saying why, when the checkpoint or the data sets are absent.
"""
import numpy as np
import pytest

import zoo

from tests.export.test_standalone import run_standalone
from tests.training.conftest import keras_probabilities

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


@pytest.fixture(scope="module")
def trec_run(minilm_checkpoint, shared_data, tmp_path_factory):
    config = {"data": {"source": "trec", "sequence_length": 32}, "model": {"init_from": str(minilm_checkpoint)},
              "training": {"epochs": 1}, "output": {"dir": str(tmp_path_factory.mktemp("trec") / "run"),
                                                    "progress": "none", "tensorboard": False}}
    return zoo.train(config)


def test_one_epoch_on_trec_reaches_90_percent_on_the_official_test_set(trec_run):
    assert trec_run.metrics["recipe"] == "fine_tune"
    assert trec_run.metrics["examples"]["test"] == 500
    assert trec_run.metrics["test"]["accuracy"] >= 0.90


def test_exported_fine_tuned_model_matches_keras_on_real_sentences_without_zoo(trec_run, tmp_path):
    exported = zoo.export_run(trec_run.run_dir, out=tmp_path / "export")
    questions = zoo.data.load("trec", split="test").texts[:60]
    reviews = zoo.data.load("mr").texts[:40]  # latin-1 accents, long sentences cut at 32 tokens
    texts = questions + reviews + ["", "Naïve café — résumé?"]
    (out,) = run_standalone([exported.path], texts, tmp_path)
    assert "error" not in out, out.get("error")
    expected = keras_probabilities(trec_run, texts)
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5, rtol=0)
    assert [s.decode() for s in out["label"]] == [trec_run.label_names[i] for i in expected.argmax(1)]
