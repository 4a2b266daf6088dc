"""Run the benchmarks of issues 2-8 and 12 (BENCHMARKS below) in one go; their results go to bench/results/ as JSON.

    python bench/run_all.py            # all of them: over an hour on the 2-core CPU (quality, tuning_trec and
                                       # pretrain_mr alone took about 26, 17 and 35 minutes in BENCHMARKS.md,
                                       # under load)
    python bench/run_all.py throughput data_pipeline

The other bench/ scripts (finetune, sequence_length, serving_precision, profile_*) run alone, with the
commands BENCHMARKS.md gives them: finetune needs a part, and several of their parts take hours.
"""
import importlib.util
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "throughput": ["--config", "cpu"],
    "data_pipeline": [],
    "export_latency": [],
    "quality": [],
    "tuning_trec": [],
    "pretrain_mr": [],
    "pretrained_parity": [],
}


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(names=None):
    names = list(names or BENCHMARKS)
    # Checked before anything runs: a misspelt last name used to be skipped after hours of the others.
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"run_all.py: no benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)} (the other bench/ "
              "scripts run alone: BENCHMARKS.md gives their commands)", file=sys.stderr)
        sys.exit(2)
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    results = {}
    for name in names:
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        results[name] = _load(name).main(BENCHMARKS[name])
        print(f"== {name}: {time.perf_counter() - start:.0f} s", flush=True)
        (out_dir / f"{name}.json").write_text(json.dumps(results[name], indent=2, default=str))
    return results


if __name__ == "__main__":
    main(sys.argv[1:] or None)
