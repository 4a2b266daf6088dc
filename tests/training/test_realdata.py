"""The default Transformer config trained from scratch on real data sets reaches its quality bars.

MR is the copy embedded in zoo (these run anywhere); TREC needs the shared data sets.
"""
import pytest

from zoo.config import Config
from zoo.training import train

pytestmark = pytest.mark.slow


def test_default_config_on_mr_fixed_split(tmp_path):
    """MR: one seeded, stratified 90/10 train/test split (validation comes out of the 90)."""
    result = train(Config(), overrides=["data.source=mr", "data.test_split=0.1", f"output.dir={tmp_path / 'mr'}"])
    assert result.metrics["examples"]["test"] == 1066
    assert result.metrics["test"]["accuracy"] >= 0.75, result.metrics


@pytest.mark.realdata
def test_default_config_on_trec_official_split(shared_data, tmp_path):
    """TREC-6: train on the 5,452 training questions (10% held out for validation), test on the official 500.

    72 of the training questions repeat an earlier one as the model reads it (71 word for word, one in other case:
    "What is the HIGHEST Roman numeral ?"); training drops the repeats, and with them the copies of 10 test
    questions that the model used to get right by memory (the bar was 0.88 then).
    Without them, seeds 42, 1-5 measured 0.874, 0.882, 0.878, 0.864, 0.894, 0.882 (mean 0.879, sd 0.010);
    the bar sits two standard deviations below that mean, so it catches a regression of about a point and
    a half at the seed used here, not a seed's luck.
    """
    result = train(Config(), overrides=["data.source=trec", f"output.dir={tmp_path / 'trec'}"])
    assert result.metrics["examples"]["test"] == 500
    assert result.metrics["examples"]["train"] + result.metrics["examples"]["validation"] == 5452 - 72
    assert result.metrics["label_names"] == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert result.metrics["test"]["accuracy"] >= 0.86, result.metrics


def test_language_model_on_mr_beats_a_unigram_model(tmp_path):
    """A decoder-only LM trained on MR text (labels unused) against the unigram model of the same tokens.

    The unigram model is fitted on the LM's own training targets (every token and the end token, add-one
    smoothing over the vocabulary) and scored on the same validation targets, in numpy.
    """
    import numpy as np

    from zoo.training.data import load_splits

    overrides = {"data": {"source": "mr", "vocab_size": 4000, "sequence_length": 32},
                 "model": {"name": "lm", "overrides": {"num_layers": 2, "d_model": 64, "num_heads": 2, "ff_dim": 128}},
                 "optimizer": {"learning_rate": 3e-3},
                 "training": {"epochs": 2, "label_smoothing": 0.0},
                 "output": {"dir": str(tmp_path / "lm"), "progress": "none"}}
    result = train(overrides)
    data = load_splits(result.config)
    train_targets = data["train"][0][:, 1:]
    validation_targets = data["validation"][0][:, 1:]
    counts = np.bincount(train_targets[train_targets != 0], minlength=data["tokenizer"].vocab_size)[1:] + 1.0
    log_p = np.log(counts / counts.sum())
    unigram = float(np.exp(-log_p[validation_targets[validation_targets != 0] - 1].mean()))
    lm = result.metrics["validation"]["perplexity"]
    print(f"MR validation perplexity: LM {lm:.1f}, unigram {unigram:.1f}")
    assert lm < 0.8 * unigram, (lm, unigram)
