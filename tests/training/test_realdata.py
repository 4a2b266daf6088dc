"""The default Transformer config trained from scratch on the shared data sets reaches its quality bars."""
import pytest

from zoo.config import Config
from zoo.training import train

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def test_default_config_on_mr_fixed_split(shared_data, tmp_path):
    """MR: one seeded, stratified 90/10 train/test split (validation comes out of the 90)."""
    result = train(Config(), overrides=["data.source=mr", "data.test_split=0.1", f"output.dir={tmp_path / 'mr'}"])
    assert result.metrics["examples"]["test"] == 1066
    assert result.metrics["test"]["accuracy"] >= 0.75, result.metrics


def test_default_config_on_trec_official_split(shared_data, tmp_path):
    """TREC-6: train on the 5,452 training questions (10% held out for validation), test on the official 500."""
    result = train(Config(), overrides=["data.source=trec", f"output.dir={tmp_path / 'trec'}"])
    assert result.metrics["examples"]["test"] == 500
    assert result.metrics["examples"]["train"] + result.metrics["examples"]["validation"] == 5452
    assert result.metrics["label_names"] == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert result.metrics["test"]["accuracy"] >= 0.88, result.metrics
