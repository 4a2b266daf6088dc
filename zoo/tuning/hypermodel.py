"""The keras-tuner ``HyperModel``: zoo registry models from a search space, trained with zoo's loop."""
import json

import keras
import keras_tuner

from zoo.tuning.trial import model_arguments, train_trial
from zoo.training import NonFiniteLossError, TrainingInterrupted
from zoo.training.precision import resolve_precision
from zoo.training.progress import Progress


class SearchInterrupted(keras_tuner.errors.FatalError):
    """SIGINT/SIGTERM stopped a trial; fatal, so keras-tuner neither retries nor counts the trial as failed."""

    def __init__(self, interrupted):
        super().__init__(str(interrupted))
        self.signal_number = interrupted.signal_number


def trial_config(base, settings, space, values):
    """Return the config a trial trains: ``base`` with ``values`` set, and the tuning section's epochs and
    early stopping (so ``zoo train`` with it reproduces the trial).

    Example:
        >>> base, settings = zoo.tuning.load_search({"tuning": {"epochs": 2}})
        >>> space = zoo.tuning.SearchSpace.from_mapping({"model.overrides.num_layers": [1, 2]}, base)
        >>> config = trial_config(base, settings, space, {"model.overrides.num_layers": 1})
        >>> config.model.overrides["num_layers"], config.training.epochs
        (1, 2)
    """
    config = space.apply(base, values)
    # A searched training.epochs is the trial's length (a decaying schedule ends with it); else tuning.epochs.
    epochs = values.get("training.epochs", settings.trial_epochs(base))
    stopping = [f"training.early_stopping.{key}={json.dumps(value)}"
                for key, value in settings.early_stopping().items()]
    return config.override([f"training.epochs={epochs}", *stopping])


class ZooHyperModel(keras_tuner.HyperModel):
    """Builds a trial's model from the registry and trains it with ``zoo.training``'s loop.

    Zoo models are functional, so ``build`` returns a built model (keras-tuner#933: subclassed models
    left unbuilt break ``get_best_models`` and Hyperband's continued trials). ``fit`` returns the best
    epoch's metrics; a NaN/Inf loss fails the trial with its message.

    Args:
        base: The base ``Config``.
        settings: The ``TuningConfig``.
        space: The ``SearchSpace``.
        data: ``zoo.tuning.trial.prepare_data(base)``, shared by every trial.
        strategy: The single-machine ``tf.distribute`` strategy each trial trains under.
        progress_stream: Where epoch progress goes (standard error by default).

    Example:
        >>> from zoo.tuning.trial import prepare_data
        >>> base, settings = zoo.tuning.load_search({"data": {"source": "reviews.jsonl"}})
        >>> space = zoo.tuning.SearchSpace.from_mapping({"model.overrides.num_layers": [1, 2]}, base)
        >>> hypermodel = ZooHyperModel(base, settings, space, prepare_data(base), tf.distribute.get_strategy())
        >>> hypermodel.build(keras_tuner.HyperParameters()).name
        'transformer_classifier'
    """

    def __init__(self, base, settings, space, data, strategy, progress_stream=None):
        super().__init__(name="zoo")
        self.base, self.settings, self.space = base, settings, space
        self.data, self.strategy = data, strategy
        self.progress_stream = progress_stream

    def declare_hyperparameters(self, hp):
        self.space.declare(hp)

    def config_for(self, values):
        """Return the trial config of hyperparameter ``values``."""
        return trial_config(self.base, self.settings, self.space, values)

    def build(self, hp):
        config = self.config_for(self.space.declare(hp))
        # keras-tuner clears the Keras session (and with it the dtype policy) before every build.
        keras.mixed_precision.set_global_policy(resolve_precision(config.training.precision))
        keras.utils.set_random_seed(config.training.seed)
        import zoo.models
        from zoo.training import transfer

        if transfer.from_checkpoint(config):
            return transfer.checkpoint_classifier(config, len(self.data["label_names"]))
        return zoo.models.build(config.model.name, **model_arguments(config, self.data))

    def fit(self, hp, model, *args, callbacks=(), epochs=None, initial_epoch=0, **kwargs):
        assert not args and not kwargs, f"unexpected search arguments {args} {kwargs}"
        config = self.config_for(hp.values)
        progress = Progress(config.output.progress, stream=self.progress_stream)
        try:
            outcome = train_trial(model, config, self.data, self.strategy,
                                  epochs=epochs or config.training.epochs,
                                  initial_epoch=initial_epoch, monitor=self.settings.objective,
                                  patience=self.settings.patience, callbacks=callbacks, progress=progress)
        except NonFiniteLossError as err:
            raise keras_tuner.errors.FailedTrialError(str(err)) from None
        except TrainingInterrupted as err:
            raise SearchInterrupted(err) from None
        return outcome.metrics()
