"""Stop a diverging run: a finite loss far above its first epoch's and the chance level.

A learning rate far too high can drive the loss to 1e9 without ever reaching NaN; the run then "finishes"
with a model that guesses. ``training.divergence_factor`` turns that into the same stop, with the same
advice, as a NaN loss (``zoo.training.loop.check_finite``).
"""
import math

import numpy as np

from zoo.training.loop import NonFiniteLossError


class LossDivergedError(NonFiniteLossError):
    """The loss diverged (finite but far above its reference); training stopped, the last checkpoint kept."""


def chance_loss(objective, num_outputs, labels=None):
    """Return the training loss of an untrained model that guesses uniformly: ln 2 per sigmoid, ln(outputs) per
    softmax, times the mean class weight of the training ``labels`` where the objective weighs classes (a
    ``training.class_weight`` of 100 made a run's first step "diverge" against the unweighted level).

    Args:
        objective: The run's ``Objective`` or ``TokenObjective``.
        num_outputs: Logits per prediction (classes, or the vocabulary size of token tasks).
        labels: The training labels (class ids), read only with class weights.

    Example:
        >>> from zoo.training.objectives import Objective
        >>> round(chance_loss(Objective("multiclass"), 6), 4)
        1.7918
        >>> round(chance_loss(Objective("multiclass", class_weights=[1.0, 9.0]), 2, labels=[0, 1]), 4)
        3.4657
    """
    if not objective.token_level and objective.mode in ("binary", "multilabel"):
        level = math.log(2.0)
    else:
        level = math.log(max(int(num_outputs), 2))
    weights = getattr(objective, "class_weights", None)
    if weights is None or labels is None:
        return level
    return level * float(np.mean(np.asarray(weights)[np.asarray(labels, np.int64).reshape(-1)]))


class DivergenceCheck:
    """Raises ``LossDivergedError`` when an epoch's running loss exceeds ``factor`` times its reference.

    The reference is the chance-level loss during the first epoch, then the larger of that and the first
    epoch's mean loss (from the run's history, so a resumed run checks against the same value).

    Args:
        factor: ``training.divergence_factor``; 0 turns the check off.
        chance: ``chance_loss`` of the run.
        first_epoch_loss: The first epoch's mean loss once known, else ``None``.

    Example:
        >>> DivergenceCheck(10, chance=0.69).check(1e9, epoch=0, step=4, checkpointer=None)
        Traceback (most recent call last):
        ...
        zoo.training.divergence.LossDivergedError: training stopped: the loss diverged to 1e+09 at epoch 1, step 5, more
        than training.divergence_factor 10 x the chance-level loss 0.69; no checkpoint had been written yet. Lower
        optimizer.learning_rate, set optimizer.clipnorm, or set training.divergence_factor: 0 to turn this check off.
    """

    def __init__(self, factor, chance, first_epoch_loss=None):
        self.factor = float(factor)
        self.chance = float(chance)
        self.first_epoch_loss = first_epoch_loss

    def epoch_done(self, record):
        """Take the first finished epoch's mean loss as part of the reference."""
        if self.first_epoch_loss is None:
            self.first_epoch_loss = float(record["loss"])

    def check(self, loss, epoch, step, checkpointer):
        """Raise ``LossDivergedError`` when ``loss`` (the epoch's running mean) is beyond the limit."""
        if not self.factor:
            return
        reference = max(self.chance, self.first_epoch_loss or 0.0)
        if loss <= self.factor * reference:
            return
        kept = checkpointer.latest if checkpointer is not None else None
        where = f"the last checkpoint {kept} is kept" if kept else "no checkpoint had been written yet"
        basis = (f"first-epoch loss {self.first_epoch_loss:.4g}" if self.first_epoch_loss and
                 self.first_epoch_loss > self.chance else f"chance-level loss {self.chance:.4g}")
        raise LossDivergedError(
            f"training stopped: the loss diverged to {loss:.4g} at epoch {epoch + 1}, step {step + 1}, more than "
            f"training.divergence_factor {self.factor:g} x the {basis}; {where}. Lower optimizer.learning_rate, "
            "set optimizer.clipnorm, or set training.divergence_factor: 0 to turn this check off.")
