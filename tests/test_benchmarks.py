"""BENCHMARKS.md gives the command behind every figure: each must still run as written.

Every ``python bench/...`` command of BENCHMARKS.md (in code blocks and in the prose) is parsed with the
script's own parser (``build_parser``), and every ``zoo ...`` command with zoo's; a renamed option or a
choice that no longer exists fails here instead of in a reader's shell. Nothing is benchmarked.
"""
import importlib.util
import json
import re
import shlex
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
# BENCHMARKS.md writes "--json ..." for "a results file of your choice".
PLACEHOLDERS = {"...": "results.json"}
# What starts a command: a bench script, or a zoo sub-command (not "zoo" the model name, as in "zoo ÷ zoo-padded").
STARTS = {"python": r"python bench/", "zoo": r"zoo [a-z]+\b"}


def benchmarks_commands(program):
    """Every command of BENCHMARKS.md that runs ``program`` (``python`` or ``zoo``): code-block lines and
    backquoted spans of the prose, line breaks inside a span joined; comments, ``&&``, environment
    assignments and optional ``[...]`` parts split off."""
    text = (REPO / "BENCHMARKS.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    prose = re.sub(r"```[a-z]*\n.*?```", "", text, flags=re.S)
    lines = [line.split("#", 1)[0] for block in blocks for line in block.splitlines()]
    lines += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]
    commands = []
    for line in lines:
        for command in re.sub(r"\[[^]]*\]", "", line).split("&&"):
            words = shlex.split(command)
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                words = words[1:]
            if re.match(STARTS[program], " ".join(words)):
                commands.append([PLACEHOLDERS.get(word, word) for word in words])
    return commands


def bench_module(script):
    """The module of ``bench/<script>``, loaded as ``bench/run_all.py`` loads it."""
    name = f"bench_{Path(script).stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BENCH / Path(script).name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def parse(parser, command, args):
    try:
        return parser.parse_args(args)
    except SystemExit:
        pytest.fail(f"BENCHMARKS.md's command does not parse: {shlex.join(command)}")


def test_every_bench_command_of_benchmarks_md_parses_with_its_scripts_parser():
    commands = benchmarks_commands("python")
    scripts = set()
    for command in commands:
        script = command[1]
        assert script.startswith("bench/") and (REPO / script).is_file(), f"no such script: {shlex.join(command)}"
        scripts.add(script)
        if script == "bench/run_all.py":
            unknown = set(command[2:]) - set(bench_module(script).BENCHMARKS)
            assert not unknown, f"{shlex.join(command)}: run_all.py has no benchmarks {sorted(unknown)}"
            continue
        if command[2:] == ["PART"]:  # "python bench/finetune.py PART with PART one of ...": checked below
            continue
        parse(bench_module(script).build_parser(), command, command[2:])
    # Every script has the command of its figures in BENCHMARKS.md.
    assert scripts == {f"bench/{path.name}" for path in BENCH.glob("*.py")}


def test_the_finetune_parts_and_overrides_benchmarks_md_names_exist(checkpoint_folder):
    """``PART`` is one of the parts the text lists, and every ``--set`` of the fine-tuning section (of
    ``bench/finetune.py`` or ``zoo train --pretrained``) is a key and value a fine-tuning run accepts."""
    from zoo.config import Config
    from zoo.training.transfer import CHECKPOINT_BACKBONE_KEYS, CHECKPOINT_HEAD_KEYS

    text = " ".join((REPO / "BENCHMARKS.md").read_text(encoding="utf-8").split())
    listed = re.search(r"`python bench/finetune.py PART` with `PART` one of ((?:`\w+`(?:, )?)+)", text).group(1)
    assert sorted(re.findall(r"`(\w+)`", listed)) == sorted(bench_module("finetune.py").PARTS)

    section = text.split("## Fine-tuning all-MiniLM-L6-v2 (issue 13)", 1)[1].split(" ## ", 1)[0]
    # "--set key=value" and a quoted `key=value`; upper-case values (S, LR, E) are the text's placeholders.
    settings = [setting for setting in re.findall(r"(?:--set |`)([a-z_]+\.[\w.]+=[^\s`]+)", section)
                if not re.fullmatch(r"[\w.]+=[A-Z]+", setting)]
    recipe = Config.from_dict({"model": {"init_from": checkpoint_folder}})  # what zoo's fine-tuning runs start from
    for setting in settings:
        overrides = recipe.override([setting]).model.overrides  # ConfigError: an unknown key or a bad value
        refused = set(overrides) - set(CHECKPOINT_HEAD_KEYS) - set(CHECKPOINT_BACKBONE_KEYS)
        assert not refused, f"--set {setting}: a run from a checkpoint refuses model.overrides {sorted(refused)}"
    assert len(settings) >= 8


def test_every_zoo_command_of_benchmarks_md_parses_with_zoos_parser():
    """Commands with options; a bare ``zoo evaluate`` in the prose names the command, it is not one to run."""
    from zoo.cli import build_parser

    commands = [command for command in benchmarks_commands("zoo") if len(command) > 2]
    for command in commands:
        parse(build_parser(), command, command[1:])
    assert len(commands) >= 5


def test_run_all_refuses_a_name_it_does_not_run_before_running_any(monkeypatch, capsys):
    run_all = bench_module("run_all.py")
    ran = []
    monkeypatch.setattr(run_all, "_load", lambda name: ran.append(name))
    for names in (["throughput", "data_pipline"], ["finetune"]):
        with pytest.raises(SystemExit) as stop:
            run_all.main(names)
        assert stop.value.code == 2 and ran == []
        assert f"no benchmark {names[-1]}; choose from throughput, data_pipeline" in capsys.readouterr().err


def test_every_benchmark_run_all_runs_exists_parses_and_is_the_one_benchmarks_md_lists():
    benchmarks = bench_module("run_all.py").BENCHMARKS
    for name, args in benchmarks.items():
        command = ["python", f"bench/{name}.py", *args]
        parse(bench_module(f"{name}.py").build_parser(), command, args)
    text = " ".join((REPO / "BENCHMARKS.md").read_text(encoding="utf-8").split())
    listed = re.search(r"`python bench/run_all.py` runs those of issues [^(]*\(([^)]*)\)", text).group(1)
    assert re.findall(r"`([^`]+)`", listed) == [" ".join([name, *args]) for name, args in benchmarks.items()]


def test_the_data_pipeline_benchmark_feeds_the_default_classifier(monkeypatch, tmp_path):
    """End to end on 300 MR sentences; its consumer is the model ``zoo train`` builds by default (timing that
    model's steps is left out: tracing it would take most of this test)."""
    import zoo.data
    from zoo.config import Config

    data_pipeline = bench_module("data_pipeline.py")
    mr = zoo.data.load("mr")
    monkeypatch.setattr(zoo.data, "load", lambda name: zoo.data.train_val_test_split(
        mr, val_size=0, test_size=300, seed=0)[2])
    consumers = []
    monkeypatch.setattr(data_pipeline, "_training_rate", lambda *args: consumers.append(args) or 100.0)
    out = tmp_path / "pipeline.json"
    results = data_pipeline.main(["--repeats", "1", "--vocab-size", "300", "--sequence-length", "16",
                                  "--json", str(out)])
    assert results["examples"] == 300 and json.loads(out.read_text()) == results
    (classifier, *_), = consumers
    assert classifier == Config().model and results["classifier"] == "transformer-tiny"


def test_the_finetune_step_builds_zoos_model_in_the_precision_set(minilm_checkpoint, monkeypatch):
    """``--set training.precision=...`` reaches the step job, which reports it (timing left out)."""
    from zoo.training import transfer

    finetune = bench_module("finetune.py")
    built = []
    build = transfer.checkpoint_classifier
    monkeypatch.setattr(transfer, "checkpoint_classifier", lambda *args, **kwargs: built.append(
        build(*args, **kwargs)) or built[-1])
    monkeypatch.setattr(finetune, "_median_step", lambda step, steps: 1.0)
    spec = {"checkpoint": str(minilm_checkpoint), "batch_size": 2, "length": 8, "steps": 1,
            "overrides": ["training.precision=mixed_bfloat16"]}
    result = finetune.job_step_zoo(spec)
    assert [model.dtype_policy.name for model in built] == ["mixed_bfloat16"]
    assert result["precision"] == "mixed_bfloat16"


def test_the_finetune_benchmarks_find_the_checkpoint_where_zoo_paths_says(monkeypatch, tmp_path):
    from zoo.paths import checkpoint_dir

    (tmp_path / "checkpoints" / "all-MiniLM-L6-v2").mkdir(parents=True)
    (tmp_path / "checkpoints" / "all-MiniLM-L6-v2" / "config.json").write_text("{}")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ZOO_CHECKPOINT_DIR", "~/checkpoints")
    assert bench_module("finetune.py").checkpoint_path() == checkpoint_dir() / "all-MiniLM-L6-v2"


@pytest.mark.parametrize("script, args, error", [
    ("throughput.py", ["--models", "zoo,kerasmha", "--anchor", "zoo"], "--models: no kerasmha; choose from zoo,"),
    ("throughput.py", ["--variants", "f32,fp16"], "--variants: no fp16; choose from f32, bf16,"),
    ("throughput.py", ["--models", "zoo,keras-mha"], "the anchor keras-hub [f32] is not among the measured variants"),
    ("profile_step.py", ["--models", "zoo,kerasmha"], "--models: no kerasmha; choose from zoo,"),
    ("profile_step.py", ["--variants", "f32,fp16"], "--variants: no fp16; choose from f32, bf16,"),
    ("throughput.py", ["--models", "zoo,keras-mha", "--anchor", "keras-mha", "--variants", "f32,f32-xla"],
     "--variants f32-xla: XLA cannot compile the dropout of zoo, which skip padding"),
    ("profile_step.py", ["--models", "zoo-nomask,zoo-padded", "--variants", "bf16-xla"],
     "--variants bf16-xla: XLA cannot compile the dropout of zoo-nomask, which skip padding"),
])
def test_the_speed_benchmarks_refuse_bad_names_before_building_any_model(script, args, error, monkeypatch):
    """A misspelt name used to end in a KeyError, and a missing anchor in a ValueError, after minutes of building."""
    module = bench_module(script)
    throughput = getattr(module, "throughput", module)  # profile_step builds through throughput's Runner
    built = []
    monkeypatch.setattr(throughput, "Runner", lambda *args, **kwargs: built.append(args))
    with pytest.raises(ValueError, match=re.escape(error)):
        module.main(["--config", "smoke", *args])
    assert built == []


@pytest.mark.parametrize("part, job", [("compare", "train_zoo"), ("step", "step_zoo"), ("export", "latency_zoo")])
def test_every_finetune_part_passes_set_to_zoos_jobs(part, job, monkeypatch, tmp_path):
    """``--set`` changes zoo's runs in every part (the export part's fine-tuning run used to drop it)."""
    finetune = bench_module("finetune.py")
    specs = {}
    timing = {"median_step_s": 1.0, "precision": "float32", "batch1_median_ms": 1.0, "batch1_p90_ms": 1.0,
              "batch32_examples_per_s": 1.0, "test_accuracy": 0.5, "examples_per_s": [1.0], "peak_rss_mb": 1.0}
    monkeypatch.setattr(finetune, "run_job", lambda name, spec: specs.setdefault(name, spec) and timing)
    monkeypatch.setattr(finetune, "checkpoint_path", lambda: tmp_path)
    monkeypatch.setattr(finetune, "write_split", lambda folder, seed, limit: {"train": "t", "test": "t"})
    args = finetune.build_parser().parse_args([part, "--quick", "--set", "model.overrides.attention_dropout=0"])
    finetune.PARTS[part](args, finetune.SETTINGS[part]["quick"])
    assert specs[job]["overrides"] == ["model.overrides.attention_dropout=0"]


def test_the_attention_profile_refuses_a_precision_it_would_not_measure():
    """``--precisions f32-xla`` used to run float32 without XLA under the label ``[f32-xla]``."""
    with pytest.raises(ValueError, match=re.escape("--precisions: no f32-xla; choose from f32, bf16")):
        bench_module("profile_attention.py").main(["--config", "smoke", "--precisions", "f32,f32-xla"])


def test_every_test_benchmarks_md_cites_exists():
    """The reliability table and the speed sections name the tests behind their claims; a renamed or deleted test
    would leave a claim unguarded without a word. A pattern (``tests/layers/test_*.py::name``) needs one match."""
    text = " ".join((REPO / "BENCHMARKS.md").read_text(encoding="utf-8").split())
    sources = {path: path.read_text(encoding="utf-8") for path in (REPO / "tests").rglob("*.py")}

    def defined(name, paths):
        return any(re.search(rf"^def {name}\b", sources[path], flags=re.M) for path in paths)

    cited, missing = 0, []
    for files, names in re.findall(r"`(tests/[\w/*]+\.py)((?:::\w+`(?:, `::\w+`)*)?)", text):
        paths = sorted(REPO.glob(files))
        assert paths, f"BENCHMARKS.md cites {files}, which does not exist"
        for name in re.findall(r"::(\w+)", names):
            cited += 1
            missing += [] if defined(name, paths) else [f"{files}::{name}"]
    missing += [name for name in set(re.findall(r"`(test_\w+)`", text)) if not defined(name, sources)]
    assert not missing and cited >= 120, missing
