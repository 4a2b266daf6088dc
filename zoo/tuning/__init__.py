"""Hyperparameter search with keras-tuner over a config's search space, the best config retrained and exported.

    import zoo
    result = zoo.tune({"data": {"source": "trec"}, "tuning": {"tuner": "bayesian", "max_trials": 10}},
                      retrain_best=True)
    result.best.objective, result.files["best_config"], result.export.path

Everything loads on first use: keras-tuner and TensorFlow are imported only when a search needs them.
"""
from zoo._lazy import lazy_exports

_LAZY = {
    "tune": "zoo.tuning.search",
    "retrain": "zoo.tuning.search",
    "retrain_config": "zoo.tuning.search",
    "TuneResult": "zoo.tuning.search",
    "TuneDirectoryError": "zoo.tuning.search",
    "SearchFailedError": "zoo.tuning.search",
    "TrialRecord": "zoo.tuning.results",
    "TuningConfig": "zoo.tuning.settings",
    "load_search": "zoo.tuning.settings",
    "SearchSpace": "zoo.tuning.space",
    "Parameter": "zoo.tuning.space",
    "default_space": "zoo.tuning.space",
    "ZooHyperModel": "zoo.tuning.hypermodel",
    "trial_config": "zoo.tuning.hypermodel",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
