"""Resumable checkpoints with Model Garden's chief/worker pattern.

Every worker of a multi-worker run must call ``save`` (saving may need the other replicas), but only the
chief may write into the run directory: Keras 3's ``BackupAndRestore`` has no chief logic and workers
writing into one shared directory corrupt each other's files. So the chief writes ``directory`` and every
other worker writes into its own temporary directory, deleted right after. All workers restore from the
chief's directory (the run directory must be on storage every worker can read: ``zoo.train`` stops every task
with an error when they restored different checkpoints, e.g. a worker that found none).

A checkpoint damaged on disk (a file deleted, truncated or corrupt) is never silently skipped: restoring
falls back to the newest intact one and says which file was at fault, and checkpoints whose index file
(``checkpoint``) was lost are found by their own files.
"""
import errno
import logging
import re
import shutil
import time
from pathlib import Path

import tensorflow as tf

from zoo.paths import OutputPathError

log = logging.getLogger(__name__)

INDEX_FILE = "checkpoint"


class CheckpointError(ValueError):
    """Checkpoints exist but none can be restored; the message names each one and the file at fault."""


class CheckpointWriteError(OutputPathError):
    """A checkpoint could not be written (no space left on device, a read-only file system, a quota).

    The one-line message names the directory, why, the checkpoint being written and what a rerun does once
    the cause is fixed: resume from the last complete checkpoint, ``latest``. The failed checkpoint's
    partial files are removed (they would hold the space the rerun needs), and the index never lists it.

    Example:
        >>> print(CheckpointWriteError("runs/demo/checkpoints", "no space left on device", "ckpt-240",
        ...                            "runs/demo/checkpoints/ckpt-230"))
        cannot write checkpoint ckpt-240 in runs/demo/checkpoints: no space left on device; free space there and \
rerun the same command: it resumes from the last complete checkpoint runs/demo/checkpoints/ckpt-230
    """

    def __init__(self, directory, why, name, latest, rerun="rerun the same command"):
        self.directory, self.why, self.name, self.latest = str(directory), why, name, latest
        super().__init__(self.describe(rerun))

    def describe(self, rerun):
        """The message, telling the user to ``rerun`` (e.g. ``"rerun the same command"``) once the cause is fixed."""
        fix = {"no space left on device": "free space there", "disk quota exceeded": "free space in your quota",
               "read-only file system": "make it writable"}.get(self.why, "fix that")
        then = (f"it resumes from the last complete checkpoint {self.latest}" if self.latest
                else "it starts the run afresh (no checkpoint was complete)")
        return f"cannot write checkpoint {self.name} in {self.directory}: {self.why}; {fix} and {rerun}: {then}"

    def with_rerun(self, rerun):
        """This error, its message telling the user to ``rerun``."""
        return CheckpointWriteError(self.directory, self.why, self.name, self.latest, rerun)


# Why a write fails, by errno and by the text TensorFlow's file system errors carry (they have no errno).
_WRITE_FAILURES = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
                   errno.EROFS: "read-only file system"}


def write_failure(err):
    """Return why ``err`` (an ``OSError`` or a TensorFlow error from writing a file) failed, or ``None``.

    Example:
        >>> write_failure(OSError(28, "No space left on device"))
        'no space left on device'
        >>> write_failure(tf.errors.ResourceExhaustedError(None, None, "ckpt-3_temp/part; No space left on device"))
        'no space left on device'
        >>> write_failure(ValueError("shape mismatch")) is None
        True
    """
    if isinstance(err, OSError) and err.errno in _WRITE_FAILURES:
        return _WRITE_FAILURES[err.errno]
    if isinstance(err, (OSError, tf.errors.OpError)):
        text = str(err).lower()
        return next((why for why in _WRITE_FAILURES.values() if why in text), None)
    return None


def checkpoint_paths(directory):
    """Return the checkpoint prefixes in ``directory``, newest (highest number) first.

    Both the checkpoints the index file lists and those found by their ``.index`` files count, so a lost or
    stale index hides none of them.

    Example:
        >>> checkpoint_paths("runs/reviews/checkpoints")
        ['runs/reviews/checkpoints/ckpt-60', 'runs/reviews/checkpoints/ckpt-50']
    """
    directory = Path(directory)
    found = {str(path)[:-len(".index")] for path in directory.glob("ckpt-*.index")}
    if (directory / INDEX_FILE).is_file():
        state = tf.train.get_checkpoint_state(str(directory))
        if state is not None:
            found.update(str(directory / Path(p).name) for p in state.all_model_checkpoint_paths)
    return sorted(found, key=_number, reverse=True)


def _number(prefix):
    suffix = prefix.rsplit("-", 1)[-1]
    return int(suffix) if suffix.isdigit() else -1


def damaged_file(prefix):
    """Return ``(file, what is wrong)`` for a checkpoint (or SavedModel ``variables``) that cannot be read, else ``None``.

    Reads the index and every tensor, as a restore would, and names the file at fault: the ``.index`` file,
    or the ``.data-*`` shard(s). TensorFlow's own errors name no file for a truncated shard.

    Example:
        >>> newest = checkpoint_paths("runs/reviews/checkpoints")[0]
        >>> damaged_file(newest) is None
        True
        >>> Path(newest + ".data-00000-of-00001").unlink()
        >>> damaged_file(newest)
        ('runs/reviews/checkpoints/ckpt-60.data-00000-of-00001', 'is missing')
    """
    prefix = Path(prefix)
    index = prefix.with_name(prefix.name + ".index")
    if not index.is_file():
        return str(index), "is missing"
    shards = sorted(prefix.parent.glob(prefix.name + ".data-*"))
    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except (tf.errors.OpError, ValueError) as err:
        missing = re.search(r"(\S+\.data-\d+-of-\d+); No such file", str(err))
        if missing:
            return missing.group(1), "is missing"
        return str(index), f"cannot be read ({_first_line(err)})"
    try:
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, IndexError, ValueError) as err:
        missing = re.search(r"(\S+\.data-\d+-of-\d+); No such file", str(err))
        if missing:
            return missing.group(1), "is missing"
        where = ", ".join(str(p) for p in shards) or f"{prefix}.data-*"
        return where, f"is truncated or corrupt ({type(err).__name__}: {_first_line(err)})"
    return None


def _first_line(err):
    return (getattr(err, "message", None) or str(err)).strip().splitlines()[0]


def model_variables(model):
    """Return the model's variables as plain TensorFlow variables, sharded tables split into their shards.

    Checkpoints hold this flat list rather than the Keras object graph because TensorFlow cannot save a
    Keras variable backed by a ``ShardedVariable`` (parameter-server training), while it saves the shards.
    The list includes the non-trainable state, e.g. dropout seed-generator states, so a resumed run draws
    the same dropout masks as an uninterrupted one.

    Example:
        >>> model = zoo.build("transformer-tiny", vocab_size=100, sequence_length=8, num_classes=2)
        >>> len(model.weights), len(model_variables(model))  # the 4 more: dropout seed-generator states
        (30, 34)
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


class RunClock(tf.Module):
    """Wall-clock seconds of a run over all its invocations: a ``Checkpointer`` given it saves and restores them.

    ``seconds`` counts from ``start`` (this invocation's) on top of what a restored checkpoint held, so an
    interrupted and resumed run reports the time of both invocations, up to the checkpoint it resumed from.

    Args:
        start: ``time.perf_counter()`` when this invocation began (default: now).

    Example:
        >>> clock = RunClock(start=time.perf_counter() - 5.0)  # this invocation began 5 s ago
        >>> _ = clock.total.assign(60.0)  # as a checkpoint of a run interrupted after 60 s restores it
        >>> round(clock.seconds())
        65
    """

    def __init__(self, start=None):
        super().__init__(name="run_clock")
        # Seconds up to ``self._mark``: the last save, or this invocation's start.
        self.total = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self._mark = time.perf_counter() if start is None else start

    def seconds(self):
        """Seconds of the run so far, its earlier invocations included."""
        return float(self.total.numpy()) + time.perf_counter() - self._mark

    def tick(self):
        """Bring ``total`` up to now (``Checkpointer.save`` calls it before saving)."""
        now = time.perf_counter()
        self.total.assign_add(now - self._mark)
        self._mark = now


class RunPrecision(tf.Module):
    """The dtype policy a run trains in, saved with its checkpoints (see ``saved_precision``).

    ``training.precision: auto`` decides per machine, so a run resumed on another CPU would continue in
    another precision, which a changed ``training.precision`` is refused for: the resume keeps the saved one.

    Args:
        policy: A Keras dtype policy name.

    Example:
        >>> checkpointer = Checkpointer("runs/bf16/checkpoints", precision=RunPrecision("mixed_bfloat16"),
        ...                             v=tf.Variable(1.0))
        >>> checkpointer.save(1)
        'runs/bf16/checkpoints/ckpt-1'
        >>> saved_precision("runs/bf16/checkpoints")
        'mixed_bfloat16'
    """

    def __init__(self, policy):
        super().__init__(name="run_precision")
        self.policy = tf.Variable(policy, dtype=tf.string, trainable=False)


def saved_precision(directory):
    """Return the dtype policy the newest readable checkpoint in ``directory`` was saved with, else ``None``.

    Read on its own, before a model is built (the policy decides how it is built); ``None`` when there is no
    checkpoint, none can be read, or they predate ``RunPrecision``.
    """
    for path in checkpoint_paths(directory):
        holder = RunPrecision("")
        try:
            tf.train.Checkpoint(precision=holder).read(path).expect_partial()
        except (tf.errors.OpError, ValueError):
            continue  # damaged: Checkpointer.restore names it; an older checkpoint holds the same policy
        return holder.policy.numpy().decode("utf-8") or None
    return None


class Checkpointer:
    """Saves and restores ``trackables`` in ``directory`` (chief) or a throw-away directory (other workers).

    Args:
        directory: The chief's checkpoint directory, which every worker restores from.
        is_chief: Whether this process writes ``directory``.
        worker: A name for this worker's temporary directory (e.g. ``worker_1``).
        max_to_keep: Checkpoints kept in ``directory``.
        clock: A ``RunClock`` to save (brought up to date first) and restore with the checkpoints, or ``None``.
        precision: A ``RunPrecision`` to save with the checkpoints (``saved_precision`` reads it back), or ``None``.
        **trackables: What to save, e.g. ``weights=model_variables(model), optimizer=optimizer``.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> checkpointer = Checkpointer("runs/demo/checkpoints", weights=model_variables(model))
        >>> checkpointer.save(100)
        'runs/demo/checkpoints/ckpt-100'
        >>> checkpointer.restore()
        'runs/demo/checkpoints/ckpt-100'
    """

    def __init__(self, directory, *, is_chief=True, worker="worker", max_to_keep=2, clock=None, precision=None,
                 **trackables):
        self.directory = Path(directory)
        self.is_chief = is_chief
        self.clock = clock
        extras = {name: value for name, value in (("clock", clock), ("precision", precision)) if value is not None}
        self.checkpoint = tf.train.Checkpoint(**trackables, **extras)
        # Restored apart from the extras, whose absence (a run started before zoo saved them) must not fail the
        # restore; the precision is read before the model is built (saved_precision), the clock after the rest.
        self._restored = tf.train.Checkpoint(**trackables)
        write_to = self.directory if is_chief else self.directory / f".tmp-{worker}"
        self._write_dir = write_to
        self.max_to_keep = max_to_keep
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(write_to), max_to_keep=max_to_keep)
        self.problems = []

    @property
    def latest(self):
        """Path of the newest checkpoint in the chief's directory, or ``None``."""
        return tf.train.latest_checkpoint(str(self.directory))

    def save(self, number):
        """Save as checkpoint ``number`` (the global step); return the chief's path of it.

        Raises:
            CheckpointWriteError: The file system refused the files (no space left, read-only, over quota);
                the partial files are removed and the earlier checkpoints kept.
        """
        if self.clock is not None:
            self.clock.tick()
        kept = set(self.manager.checkpoints)
        try:
            path = self.manager.save(checkpoint_number=int(number))
        except (tf.errors.OpError, OSError) as err:
            why = write_failure(err)
            if why is None:
                raise
            prefix = self._write_dir / f"ckpt-{int(number)}"
            self._remove_partial(prefix, str(prefix) in kept)
            raise CheckpointWriteError(self._write_dir, why, prefix.name, self.latest) from None
        if not self.is_chief:
            shutil.rmtree(self._write_dir, ignore_errors=True)
            return str(self.directory / Path(path).name)
        return path

    def _remove_partial(self, prefix, listed):
        """Remove what a failed save of ``prefix`` left: its temporary directory, and its files unless listed."""
        for leftover in prefix.parent.glob(prefix.name + "_temp*"):
            shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)
        if not listed:
            for leftover in [*prefix.parent.glob(prefix.name + ".data-*"), prefix.parent / (prefix.name + ".index")]:
                leftover.unlink(missing_ok=True)

    def restore(self, path=None):
        """Restore ``path``, or else the newest intact checkpoint; return the restored path, or ``None`` if none exist.

        A damaged checkpoint is passed over for the one before it; ``problems`` then holds a line per damaged
        checkpoint naming the file at fault (and one when the index file was lost). The chief rewrites the
        index to list the intact checkpoints, so later saves keep them.

        Raises:
            CheckpointError: Checkpoints exist but every one is damaged (nothing is deleted).
        """
        self.problems = []
        if path is not None:
            self._restore(path)
            return path
        candidates = checkpoint_paths(self.directory)
        if not candidates:
            return None
        if self.latest is None:
            self.problems.append(f"{self.directory / INDEX_FILE} (the list of checkpoints) is missing or unreadable; found "
                                 f"{', '.join(Path(p).name for p in candidates)} by their files")
        damaged = []
        for candidate in candidates:
            try:
                self._restore(candidate)
                break
            except (tf.errors.OpError, IndexError, ValueError):
                # A failed restore may have assigned some variables: the next restore assigns all of them.
                problem = damaged_file(candidate)
                if problem is None:
                    raise
            damaged.append(candidate)
            self.problems.append(f"checkpoint {candidate} is damaged: {problem[0]} {problem[1]}; "
                                 + ("trying the one before it" if candidate != candidates[-1] else "it was the last"))
        else:
            raise CheckpointError(f"no intact checkpoint to resume from in {self.directory}: "
                                  + "; ".join(self.problems) + ". Set output.overwrite: true to start the run "
                                  "afresh (this deletes them), or restore the files")
        if self.problems and self.is_chief:
            intact = [p for p in reversed(candidates) if p not in damaged]
            tf.compat.v1.train.update_checkpoint_state(str(self.directory), candidate,
                                                        all_model_checkpoint_paths=intact)
            self.manager = tf.train.CheckpointManager(self.checkpoint, str(self._write_dir),
                                                      max_to_keep=self.max_to_keep)
        return candidate

    def _restore(self, path):
        self._restored.restore(path).assert_existing_objects_matched().expect_partial()  # the clock comes next
        if self.clock is not None:
            tf.train.Checkpoint(clock=self.clock).restore(path).expect_partial()
