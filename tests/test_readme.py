"""The README is the contract: its first-run commands work in an empty directory with a freshly installed zoo.

The commands are read from README.md (the ``## First run`` block), so the test follows the README. The slow
test installs zoo non-editably into a new virtual environment (proving that ``setup.py`` ships the MR
data), runs every command in an empty directory outside the checkout with ``ZOO_DATA_DIR`` unset and no
``../shared`` anywhere near the installed package, lowering only ``training.epochs``.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What setup.py reads to build the package.
BUILD_FILES = ("setup.py", "pyproject.toml", "setup.cfg", "MANIFEST.in", "README.md")
FEWER_EPOCHS = "training.epochs=1"
# What a user should never see on the default path: warnings, TensorFlow's C++ log lines, tracebacks.
NOISE = re.compile(r"warn|^[IWE]\d{4} |Traceback|absl::", re.IGNORECASE | re.MULTILINE)


def readme_commands(heading):
    """The commands of the first ```bash block after ``## heading`` in README.md, comments dropped."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_the_first_run_block_starts_with_the_main_command_and_follows_what_zoo_train_prints(capsys):
    from zoo.cli import print_next_commands
    from zoo.config import Config
    from zoo.training import TrainResult
    from zoo.training.data import example_input, split_texts
    from zoo.training.run import default_run_dir

    setup = readme_commands("Set up")
    first_run = readme_commands("First run")
    assert setup[1] == first_run[0] == "zoo train"
    run_dir = default_run_dir(Config())
    example = example_input(split_texts(Config()), "classification")
    result = TrainResult(run_dir, Config(), None, None, ["neg", "pos"], [], {"task": "classification"},
                         example_input=example)
    print_next_commands(result)
    printed = [line.strip() for line in capsys.readouterr().err.splitlines()[1:]]
    assert printed == first_run[1:]


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory):
    """A virtual environment with zoo installed from a copy of this checkout (not editable); its bin folder."""
    root = tmp_path_factory.mktemp("fresh")
    source = root / "source"
    shutil.copytree(REPO / "zoo", source / "zoo", ignore=shutil.ignore_patterns("__pycache__"))
    for name in BUILD_FILES:
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, source / name)
    venv = root / "venv"
    # The system site-packages provide TensorFlow and the other dependencies, so nothing is downloaded, and pip
    # itself: the venv's own copy (ensurepip, ~5 s of CPU) would install zoo into the venv just the same.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True,
                   timeout=120)
    bin_dir = venv / "bin"
    done = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--no-build-isolation", str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return bin_dir


def _user_env(bin_dir):
    env = {k: v for k, v in os.environ.items()
           if k not in ("ZOO_DATA_DIR", "PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    return env


@pytest.mark.slow
def test_the_readme_first_run_works_in_an_empty_directory_with_a_fresh_install(fresh_install, tmp_path):
    work = tmp_path / "empty"
    work.mkdir()
    env = _user_env(fresh_install)
    where = subprocess.run(["python", "-c", "import zoo, zoo.paths; print(zoo.__file__); print(zoo.paths.data_dir())"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=120, check=True)
    package, data_dir = where.stdout.split()
    assert Path(package).is_relative_to(fresh_install.parent), f"zoo imported from {package}, not the fresh install"
    assert not Path(data_dir).exists(), f"{data_dir} exists: the test must not find ../shared"

    outputs = []
    for command in readme_commands("First run"):
        args = shlex.split(command)
        if args[:2] == ["zoo", "train"]:
            args += ["--set", FEWER_EPOCHS]
        done = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        outputs.append(done)

    for command, done in zip(readme_commands("First run"), outputs):
        assert not NOISE.search(done.stderr), f"{command}\n{done.stderr}"
    train = outputs[0]
    assert "sequence length" in train.stderr and "next:" in train.stderr
    run_dir = work / train.stdout.strip()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # With no data directory anywhere, all of MR can only have come from the copy inside the installed package.
    assert metrics["sources"]["train"].startswith("mr") and sum(metrics["examples"].values()) == 10662
    assert (work / "saved_models" / run_dir.name / "1" / "saved_model.pb").is_file()
    prediction = json.loads(outputs[-1].stdout.strip().splitlines()[-1])
    assert prediction["label"] in ("neg", "pos") and abs(sum(prediction["probabilities"].values()) - 1) < 1e-5


def _readme_section(heading):
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_runs_after_the_first_run_write_run_directories_of_their_own():
    """Followed in order, each ``zoo train``/``zoo pretrain`` of the README gets its own run directory: one that
    fell back to the first run's ``runs/mr-transformer-tiny`` would stop on that finished run."""
    from zoo.cli import PRETRAIN_DEFAULTS, _config, build_parser
    from zoo.training.run import default_run_dir

    text = (REPO / "README.md").read_text(encoding="utf-8").split("\n## First run\n", 1)[1]
    blocks = [part.split("```", 1)[0] for part in text.split("```bash\n")[1:]]
    commands = [command.strip() for block in blocks
                for line in block.replace("\\\n", " ").splitlines()
                for command in line.split("  #", 1)[0].split("&&")]
    run_dirs = {}
    for command in commands:
        args = shlex.split(command)
        if args[:2] not in (["zoo", "train"], ["zoo", "pretrain"]):
            continue
        config = _config(build_parser().parse_args(args[1:]), args[1],
                         PRETRAIN_DEFAULTS if args[1] == "pretrain" else None)
        run_dir = Path(config.output.dir) if config.output.dir else default_run_dir(config)
        assert run_dir not in run_dirs, f"{command!r} writes {run_dir}, as {run_dirs[run_dir]!r} did"
        run_dirs[run_dir] = command
    assert len(run_dirs) >= 4


def test_the_readme_names_every_output_of_an_exports_default_signature():
    from zoo.export.saved_model import classifier_outputs

    section = _readme_section("Exported models and tensorflow-text")
    outputs = {**classifier_outputs("multiclass"), **classifier_outputs("multilabel")}
    assert [name for name in outputs if f"`{name}`" not in section] == []


def _readme_blocks(language):
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return [part.split("```", 1)[0] for part in text.split(f"```{language}\n")[1:]]


def test_every_zoo_command_in_the_readme_parses_with_the_cli():
    """A renamed or dropped option fails here, not in a user's shell: each ``zoo ...`` line of a bash block."""
    from zoo.cli import build_parser

    commands = [command.strip() for block in _readme_blocks("bash")
                for line in block.replace("\\\n", " ").splitlines()
                for command in line.split("  #", 1)[0].split("&&")]
    commands = [command for command in commands if command.startswith("zoo ")]
    assert len(commands) >= 10
    parser = build_parser()
    for command in commands:
        try:
            parser.parse_args(shlex.split(command)[1:])
        except SystemExit:
            pytest.fail(f"README command does not parse: {command}")


def test_every_call_of_the_readme_api_tour_matches_the_function_it_names():
    """Each ``zoo.<name>(...)`` of the python block exists and accepts the arguments shown."""
    import ast
    import inspect

    import zoo

    calls = [node for block in _readme_blocks("python") for node in ast.walk(ast.parse(block))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)]
    checked = []
    for call in calls:
        path, target = [], call.func
        while isinstance(target, ast.Attribute):
            path.insert(0, target.attr)
            target = target.value
        if not (isinstance(target, ast.Name) and target.id == "zoo"):
            continue
        function = zoo
        for name in path:
            function = getattr(function, name)
        keywords = {keyword.arg: None for keyword in call.keywords}
        try:
            inspect.signature(function).bind(*call.args, **keywords)
        except TypeError as err:
            pytest.fail(f"zoo.{'.'.join(path)}{ast.unparse(call)[len('zoo.' + '.'.join(path)):]}: {err}")
        checked.append(".".join(path))
    assert {"build_transformer", "train", "evaluate", "export_run", "predict", "tune", "generate",
            "generate_texts"} <= set(checked)
