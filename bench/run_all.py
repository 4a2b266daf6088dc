"""Run every benchmark in one go and write their results as JSON under bench/results/.

    python bench/run_all.py            # all of them (about 30 minutes on the 2-core CPU)
    python bench/run_all.py throughput data_pipeline
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
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    results = {}
    for name in names or BENCHMARKS:
        if not (HERE / f"{name}.py").exists():
            print(f"== {name}: no bench/{name}.py, skipped", flush=True)
            continue
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        results[name] = _load(name).main(BENCHMARKS.get(name, []))
        print(f"== {name}: {time.perf_counter() - start:.0f} s", flush=True)
        (out_dir / f"{name}.json").write_text(json.dumps(results[name], indent=2, default=str))
    return results


if __name__ == "__main__":
    main(sys.argv[1:] or None)
