"""Resumable checkpoints with Model Garden's chief/worker pattern.

Every worker of a multi-worker run must call ``save`` (saving may need the other replicas), but only the
chief may write into the run directory: Keras 3's ``BackupAndRestore`` has no chief logic and workers
writing into one shared directory corrupt each other's files. So the chief writes ``directory`` and every
other worker writes into its own temporary directory, deleted right after. All workers restore from the
chief's directory (the run directory must be on storage every worker can read).
"""
import shutil
from pathlib import Path

import tensorflow as tf


def model_variables(model):
    """Return the model's variables as plain TensorFlow variables, sharded tables split into their shards.

    Checkpoints hold this flat list rather than the Keras object graph because TensorFlow cannot save a
    Keras variable backed by a ``ShardedVariable`` (parameter-server training), while it saves the shards.
    The list includes the non-trainable state, e.g. dropout seed-generator states, so a resumed run draws
    the same dropout masks as an uninterrupted one.
    """
    flat = []
    # ``variables``, not ``weights``: Keras leaves seed-generator states out of ``weights``.
    for variable in model.variables:
        value = variable.value
        if isinstance(value, tf.__internal__.distribute.ShardedVariable):
            flat.extend(value.variables)
        else:
            flat.append(value)
    return flat


class Checkpointer:
    """Saves and restores ``trackables`` in ``directory`` (chief) or a throw-away directory (other workers).

    Args:
        directory: The chief's checkpoint directory, which every worker restores from.
        is_chief: Whether this process writes ``directory``.
        worker: A name for this worker's temporary directory (e.g. ``worker_1``).
        max_to_keep: Checkpoints kept in ``directory``.
        **trackables: What to save, e.g. ``weights=model_variables(model), optimizer=optimizer``.

    Example:
        >>> checkpointer = Checkpointer("runs/mr/checkpoints", weights=model_variables(model))  # doctest: +SKIP
        >>> checkpointer.save(100)  # doctest: +SKIP
        'runs/mr/checkpoints/ckpt-100'
    """

    def __init__(self, directory, *, is_chief=True, worker="worker", max_to_keep=2, **trackables):
        self.directory = Path(directory)
        self.is_chief = is_chief
        self.checkpoint = tf.train.Checkpoint(**trackables)
        write_to = self.directory if is_chief else self.directory / f".tmp-{worker}"
        self._write_dir = write_to
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(write_to), max_to_keep=max_to_keep)

    @property
    def latest(self):
        """Path of the newest checkpoint in the chief's directory, or ``None``."""
        return tf.train.latest_checkpoint(str(self.directory))

    def save(self, number):
        """Save as checkpoint ``number`` (the global step); return the chief's path of it."""
        path = self.manager.save(checkpoint_number=int(number))
        if not self.is_chief:
            shutil.rmtree(self._write_dir, ignore_errors=True)
            return str(self.directory / Path(path).name)
        return path

    def restore(self, path=None):
        """Restore ``path`` (default: the newest checkpoint); return the path, or ``None`` if there is none."""
        path = path or self.latest
        if path is None:
            return None
        self.checkpoint.restore(path).assert_existing_objects_matched()
        return path
