"""The results of a search from the oracle's trials, without training."""
import types

import keras_tuner
from keras_tuner.engine.trial import Trial, TrialStatus

from zoo.tuning.results import best_of, collect


def _oracle(ids):
    trials = {}
    for trial_id in ids:
        trial = Trial(keras_tuner.HyperParameters(), trial_id=trial_id, status=TrialStatus.COMPLETED)
        trial.metrics.register("val_accuracy", direction="max")
        trial.metrics.update("val_accuracy", 0.5)
        trial.score = 0.5
        trials[trial_id] = trial
    return types.SimpleNamespace(trials=trials)


def test_trials_of_a_search_continued_with_more_trials_are_in_trial_order(tmp_path):
    # max_trials 9 numbers trials 0-8; continued with max_trials 12, keras-tuner pads ids to two digits.
    oracle = _oracle([str(i) for i in range(9)] + ["09", "10", "11"])
    records = collect(oracle, [], "val_accuracy", tmp_path)
    assert [r.trial_id for r in records] == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "09", "10", "11"]
    # On a tie the earliest trial is the best, not the one whose id sorts first as text.
    tied = [r for r in records if r.trial_id in ("1", "09")]
    assert best_of(tied, "val_accuracy").trial_id == "1"
