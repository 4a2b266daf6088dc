"""Training: strategies from a string, a custom loop around ``strategy.run``, checkpoints, the run directory.

    import zoo
    result = zoo.train({"data": {"source": "trec"}, "training": {"epochs": 10}})
    result.metrics["test"]["accuracy"], result.run_dir
"""
from zoo.training.checkpoints import CheckpointError, Checkpointer, model_variables
from zoo.training.data import load_splits
from zoo.training.divergence import LossDivergedError
from zoo.training.loop import NonFiniteLossError, Trainer, TrainingInterrupted
from zoo.training.objectives import Objective, TokenObjective, objective_for
from zoo.training.optimizers import WarmupSchedule, build_optimizer, build_schedule, clip_gradients
from zoo.training.precision import resolve_precision
from zoo.training.run import RunDirectoryError, TrainResult, as_config, load_run, train
from zoo.training.strategies import (
    EmbeddingPartitioner,
    StrategyError,
    cluster_resolver,
    get_strategy,
    task_info,
)

__all__ = [
    "CheckpointError",
    "Checkpointer",
    "EmbeddingPartitioner",
    "LossDivergedError",
    "NonFiniteLossError",
    "Objective",
    "TokenObjective",
    "RunDirectoryError",
    "StrategyError",
    "Trainer",
    "TrainResult",
    "TrainingInterrupted",
    "WarmupSchedule",
    "as_config",
    "build_optimizer",
    "build_schedule",
    "clip_gradients",
    "cluster_resolver",
    "get_strategy",
    "load_run",
    "load_splits",
    "model_variables",
    "objective_for",
    "resolve_precision",
    "task_info",
    "train",
]
