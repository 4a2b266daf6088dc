"""The results of a search: one record per trial, the CSV and Markdown tables, the best trial."""
import csv
import dataclasses
import math
from pathlib import Path
from typing import Optional

from keras_tuner.engine.trial import TrialStatus

from zoo.tuning.space import short_key
from zoo.tuning.tuners import ERROR_FILE, PROJECT, last_line, trial_seconds

COLUMNS = ("trial", "status")
TAIL = ("best_epoch", "epochs", "seconds", "error")


@dataclasses.dataclass
class TrialRecord:
    """One trial of a search.

    Attributes:
        trial_id: keras-tuner's id (``"03"``).
        status: ``COMPLETED``, ``FAILED`` or ``RUNNING`` (started, not finished: the search was interrupted
            there and continues with it).
        values: The searched keys' values.
        objective: The objective at the best epoch (``None`` unless completed).
        metrics: The best epoch's ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.
        best_epoch: The best epoch (1-based; counted from the first epoch for a continued Hyperband trial).
        epochs: Epochs trained (including those of a continued trial).
        seconds: Wall time of the trial.
        error: The failure (exception and message), ``None`` unless failed.
        error_file: Where the full traceback is, when one was saved.
    """

    trial_id: str
    status: str
    values: dict
    objective: Optional[float] = None
    metrics: dict = dataclasses.field(default_factory=dict)
    best_epoch: Optional[int] = None
    epochs: Optional[int] = None
    seconds: Optional[float] = None
    error: Optional[str] = None
    error_file: Optional[str] = None

    @property
    def completed(self):
        return self.status == TrialStatus.COMPLETED


def collect(oracle, keys, objective, directory):
    """Return a ``TrialRecord`` per trial the (chief's) ``oracle`` knows, in trial-id order.

    Args:
        oracle: The keras-tuner oracle holding every trial.
        keys: The searched keys (the table's hyperparameter columns).
        objective: The objective's name.
        directory: The search directory (failed trials' ``error.txt`` live under it).
    """
    records = []
    # keras-tuner pads ids to the width of max_trials, so a search continued with a larger max_trials mixes
    # widths ('09' after '8'): as text, '10' would sort before '2'.
    for trial_id in sorted(oracle.trials, key=int):
        trial = oracle.trials[trial_id]
        values = {key: trial.hyperparameters.values[key] for key in keys if key in trial.hyperparameters.values}
        record = TrialRecord(trial_id, trial.status, values)
        if trial.status == TrialStatus.COMPLETED:
            record.objective = float(trial.score)
            record.metrics = {k: _metric(trial, k) for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
            record.best_epoch = _integer(_metric(trial, "best_epoch"))
            record.epochs = _integer(_metric(trial, "epochs"))
            record.seconds = _metric(trial, "seconds")
        elif trial.status in (TrialStatus.FAILED, TrialStatus.INVALID):
            record.status = TrialStatus.FAILED
            path = Path(directory) / PROJECT / f"trial_{trial_id}" / ERROR_FILE
            message = trial.message or (path.read_text(encoding="utf-8") if path.is_file() else None)
            record.error = last_line(message) if message else "failed; its error was not recorded (see the log of " \
                                                              "the worker that ran it)"
            record.error_file = str(path) if path.is_file() else None
        records.append(record)
    return records


def best_of(records, objective):
    """Return the completed record with the best objective (earliest on ties), or ``None``."""
    done = [r for r in records if r.completed and not math.isnan(r.objective)]
    if not done:
        return None
    sign = -1.0 if objective == "val_loss" else 1.0
    return max(done, key=lambda r: (sign * r.objective, -records.index(r)))


def write_csv(records, path, keys, objective):
    """Write the results table as CSV: trial, status, hyperparameters, objective, epochs, seconds, error."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*COLUMNS, *keys, objective, *TAIL])
        for r in records:
            writer.writerow([r.trial_id, r.status, *(r.values.get(k, "") for k in keys), _blank(r.objective),
                             _blank(r.best_epoch), _blank(r.epochs), _blank(r.seconds and trial_seconds(r.seconds)),
                             r.error or ""])
    return path


def write_markdown(records, path, keys, objective, best=None, *, shown=None):
    """Write the results table as Markdown, trials in the order given with the best marked ``*``, then the failures;
    ``shown`` names the objective in the text (``zoo.tuning.settings.objective_name``), ``objective`` by default."""
    path = Path(path)
    header = ["trial", "status", *(short_key(k) for k in keys), objective, "best epoch", "epochs", "seconds"]
    lines = [f"# Search results ({sum(r.completed for r in records)} of {len(records)} trials completed)", "",
             f"Objective: {shown or objective} ({'lower' if objective == 'val_loss' else 'higher'} is better); "
             "hyperparameters: " + ", ".join(f"`{k}`" for k in keys), "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in records:
        mark = " *" if best is not None and r.trial_id == best.trial_id else ""
        cells = [r.trial_id + mark, r.status, *(_cell(r.values.get(k, "")) for k in keys),
                 "" if r.objective is None else f"{r.objective:.4f}", str(_blank(r.best_epoch)), str(_blank(r.epochs)),
                 "" if r.seconds is None else str(trial_seconds(r.seconds))]
        lines.append("| " + " | ".join(cells) + " |")
    failed = [r for r in records if r.status == TrialStatus.FAILED]
    if failed:
        lines += ["", "## Failed trials", ""]
        lines += [f"- trial {r.trial_id}: {_cell(r.error)}"
                  + (f" (traceback: `{r.error_file}`)" if r.error_file else "") for r in failed]
    if best is not None:
        lines += ["", f"Best: trial {best.trial_id} (marked *), {shown or objective} {best.objective:.4f}."]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _metric(trial, name):
    return float(trial.metrics.get_last_value(name)) if trial.metrics.exists(name) else None


def _integer(value):
    return None if value is None else int(value)


def _blank(value):
    return "" if value is None else value


def _cell(value):
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")
