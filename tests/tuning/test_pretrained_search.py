"""``zoo tune`` over a pretrained checkpoint: the fine-tuning recipe's space, trials that start from the checkpoint."""
import pytest

from tests.converters.checkpoints import write_bert_checkpoint
from tests.training.conftest import write_pairs
from zoo.config import ConfigError
from zoo.tuning.search import tune
from zoo.tuning.settings import load_search
from zoo.tuning.trial import prepare_data


def _config(tmp_path, **tuning):
    checkpoint = write_bert_checkpoint(tmp_path / "bert")[0]
    return {"data": {"source": str(write_pairs(tmp_path / "pairs.jsonl", n=96)), "sequence_length": 16},
            "model": {"init_from": str(checkpoint)}, "output": {"progress": "none"},
            "tuning": {"tuner": "random", "max_trials": 2, "directory": str(tmp_path / "search"), **tuning}}


def test_default_space_searches_learning_rate_epochs_warmup_and_layer_decay(tmp_path):
    result = tune(_config(tmp_path, space={"optimizer.learning_rate": [1e-3, 3e-3], "training.epochs": [1, 2],
                                           "optimizer.layer_decay": [1.0, 0.8]}))
    assert result.config.recipe == "fine_tune" and result.config.training.batch_size == 32
    done = [t for t in result.trials if t.status == "COMPLETED"]
    assert len(done) == 2
    for trial in done:
        assert trial.epochs == trial.values["training.epochs"]  # a searched epoch count is the trial's length
    assert result.best_config.model.init_from == result.config.model.init_from
    from zoo.tuning.space import default_space

    assert default_space(result.config).keys == ["optimizer.learning_rate", "training.epochs",
                                                 "schedule.warmup_fraction", "optimizer.layer_decay"]


def test_searched_epochs_exclude_tuning_epochs_and_hyperband(tmp_path):
    space = {"training.epochs": [1, 2]}
    with pytest.raises(ConfigError, match="tuning.epochs: 2 and a searched training.epochs"):
        tune(_config(tmp_path, space=space, epochs=2))
    with pytest.raises(ConfigError, match="hyperband sets each trial's epochs itself"):
        tune(_config(tmp_path, space=space, tuner="hyperband"))


def test_a_checkpoint_fine_tuned_with_a_lower_encoder_rate_is_searched(tmp_path):
    # Trials build their optimizer as zoo train does (optimizer_for), which scales the encoder's rate; the
    # search refused the scale in the config while applying the same scale when the space searched it.
    config = _config(tmp_path)
    config["optimizer"] = {"encoder_learning_rate_scale": 0.5}
    base, _ = load_search(config)
    assert prepare_data(base)["label_names"] == ["no", "yes"]
    with pytest.raises(ConfigError, match=f"^model.init_from: {tmp_path} is not a pretrained checkpoint folder"):
        prepare_data(load_search({**config, "model": {"init_from": str(tmp_path)}})[0])
    # zoo tune's --pretrained says so; it offered a zoo pretraining run, as zoo train's does.
    import argparse

    from zoo.tuning.cli import add_tune_command

    subparsers = argparse.ArgumentParser(prog="zoo").add_subparsers(dest="command")
    add_tune_command(subparsers)
    shown = " ".join(subparsers.choices["tune"].format_help().split())
    assert "--pretrained PATH start each trial's classifier from a pretrained BERT checkpoint folder" in shown
    assert "a zoo pretraining run is for zoo train and zoo cv (sets model.init_from)" in shown


def test_a_config_that_fails_leaves_the_search_directory_as_it_was(tmp_path):
    config = _config(tmp_path)
    mistyped = {**config, "model": {"init_from": str(tmp_path / "bret")}}
    with pytest.raises(ConfigError, match="^model.init_from: "):
        tune(mistyped)
    # No search.yaml of the mistyped config is left to refuse the corrected command as "a different config".
    assert not (tmp_path / "search").exists()
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "search.yaml").write_text("config: {}\n")
    with pytest.raises(ConfigError, match="^model.init_from: "):
        tune({**mistyped, "tuning": {**config["tuning"], "overwrite": True}})
    # tuning.overwrite deletes the earlier search only once the new config has loaded its data.
    assert (tmp_path / "search" / "search.yaml").read_text() == "config: {}\n"
