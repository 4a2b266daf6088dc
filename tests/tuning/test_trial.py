"""One trial's training: a Hyperband round trains a stretch of the trial's whole learning-rate schedule."""
import pytest
import tensorflow as tf

import zoo.models
import zoo.tuning.trial as trial
from tests.tuning.conftest import search_config
from zoo.training.optimizers import build_schedule
from zoo.training.run import num_examples
from zoo.tuning.settings import load_search


def test_a_hyperband_round_follows_the_schedule_of_the_whole_trial(texts_csv, tmp_path, monkeypatch):
    base, _ = load_search(search_config(texts_csv, tmp_path))
    config = base.override(["training.epochs=3", "schedule.name=cosine"])  # the trial's budget: 3 epochs
    data = trial.prepare_data(config)
    model = zoo.models.build(config.model.name, **trial.model_arguments(config, data))
    built, real = [], trial.optimizer_for
    monkeypatch.setattr(trial, "optimizer_for", lambda *args: built.append(real(*args)) or built[-1])
    trial.train_trial(model, config, data, tf.distribute.get_strategy(), epochs=1, monitor="val_accuracy",
                      patience=0)  # Hyperband's first round: 1 of the 3 epochs
    steps = num_examples(data["train"][0]) // config.training.batch_size
    whole = build_schedule(config.optimizer, config.schedule, 3 * steps)
    # Where the 3-epoch cosine stands after one epoch, so the next round continues it; a cosine over the
    # round alone would have decayed to 0 and restarted high in the next round.
    rate = float(built[0].learning_rate)
    assert rate == pytest.approx(float(whole(steps)), rel=1e-5) and rate > 0.5 * config.optimizer.learning_rate
