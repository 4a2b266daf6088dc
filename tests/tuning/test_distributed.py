"""Distributed search: one chief and its workers on 127.0.0.1, real processes running ``zoo tune``."""
import csv
import subprocess

import pytest
import yaml

from tests.tuning.conftest import PYTHON, TUNE_MAIN, free_port, search_config, subprocess_env

TIMEOUT = 240


@pytest.mark.slow
def test_a_chief_refuses_a_worker_with_another_config_and_two_workers_complete_every_trial_exactly_once(
        texts_csv, tmp_path):
    # One chief for both checks (a Python + TensorFlow start each saved): the refused worker runs first, alone.
    directory = tmp_path / "distributed"
    config = search_config(texts_csv, directory, max_trials=3, epochs=1)
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    oracle = f"127.0.0.1:{free_port()}"
    command = [PYTHON, "-c", TUNE_MAIN, "tune", "--config", str(path), "--oracle", oracle]
    env = subprocess_env()
    chief = subprocess.Popen(command + ["--role", "chief"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    workers = []
    try:
        # It trained with its own batch size and epochs, which the chief recorded as the search's config.
        other = subprocess.run(command + ["--role", "worker", "--set", "training.batch_size=8",
                                          "--set", "tuning.epochs=2"], env=env, capture_output=True, text=True,
                               timeout=TIMEOUT)
        assert other.returncode == 2, other.stderr[-3000:]
        assert (f"the chief's search in {directory} has a different config (training.batch_size: 16 -> 8; "
                "tuning.epochs: 1 -> 2); start every worker with the chief's config") in other.stderr
        assert not list(directory.glob("search/trial_*"))

        workers = [subprocess.Popen(command + ["--role", "worker", "--tuner-id", f"worker{i}"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
        outputs = [process.communicate(timeout=TIMEOUT) for process in [chief, *workers]]
    finally:
        for process in [chief, *workers]:
            if process.poll() is None:
                process.kill()
                process.wait()
    for process, (out, err) in zip([chief, *workers], outputs):
        assert process.returncode == 0, f"{process.args[-3:]} exited {process.returncode}:\n{out}\n{err[-3000:]}"

    ran = []
    for out, _ in outputs[1:]:
        line = next(line for line in out.splitlines() if line.startswith("ran trials:"))
        ran += line.split(":", 1)[1].split()
    assert sorted(ran) == ["0", "1", "2"], f"trials run by the workers: {ran}"  # each exactly once

    with open(directory / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["trial"], r["status"]) for r in rows] == [(str(i), "COMPLETED") for i in range(3)]
    assert all(r["val_accuracy"] and r["seconds"] for r in rows)
    chief_out = outputs[0][0]
    assert "3 of 3 trials completed" in chief_out and f"best config: {directory / 'best_config.yaml'}" in chief_out
