"""Every notebook in notebooks/ runs top to bottom in a fresh kernel (fast sizes), and is stored without outputs.

The notebooks check their own results with asserts (the reloaded SavedModel predicts what the trained model
does, numpy attention equals the layer's, ...), so a wrong number fails here as a cell error. No cell may
print a warning or a TensorFlow C++ log line, and a notebook that trains with zoo's default progress display shows
tqdm's widget.
"""
import os
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
FAST_ENV = "ZOO_NOTEBOOK_FAST"
# Notebooks that read the shared data sets (TREC); the others run anywhere (MR ships inside zoo).
NEEDS_DATA = {"02_distributed_training", "03_hyperparameter_search"}
# Notebooks that read the pretrained checkpoint (ZOO_CHECKPOINT_DIR).
NEEDS_CHECKPOINT = {"06_fine_tune_pretrained"}
# Notebooks whose zoo.train call uses the default progress display, which Jupyter shows as a widget.
SHOWS_WIDGET = {"04_attention_maps"}
WIDGET = "application/vnd.jupyter.widget-view+json"
# A warning, or a line of TensorFlow's C++ logging ("E0000 00:00:1796214519.245930 7731 cuda_platform.cc:52] failed
# call to cuInit: ..."): the notebooks import TensorFlow with zoo.console.import_tensorflow_quietly, which hides them.
WARNING = re.compile(r"(?i:warn)|^[IWEF]\d{4} \d\d:\d\d:\d\d", re.MULTILINE)
# jupyter_client resolves "python3" to this interpreter whenever ipykernel is importable (a kernel.json saying
# "python" is also started with sys.executable), so the test needs no kernelspec of its own.
KERNEL = "python3"
CELL_TIMEOUT_S = 600


def test_every_notebook_is_listed():
    expected = {"01_quickstart", "02_distributed_training", "03_hyperparameter_search", "04_attention_maps",
                "05_transformer_from_the_equations", "06_fine_tune_pretrained"}
    assert {p.stem for p in NOTEBOOKS} == expected


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None and "execution" not in cell.metadata, \
                f"{path.name} cell {index} holds outputs: clear them before committing"


def _kernel_env(data_dir, tmp_dir):
    """The kernel's environment: fast sizes, zoo importable from this checkout, the tests' data location.

    ``TMPDIR`` points the notebooks' temporary folders (fast mode writes only there) into pytest's tmp_path.
    Otherwise the kernel runs as a user's does, so that its cells show what they would show a user: ipykernel
    forwards what is written straight to the process's standard error (TensorFlow's C++ logging) only outside
    pytest, which it tells by ``PYTEST_CURRENT_TEST``, and ``TF_CPP_MIN_LOG_LEVEL`` would hide TensorFlow's lines.
    """
    env = dict(os.environ)
    env[FAST_ENV] = "1"
    env["TMPDIR"] = str(tmp_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["KERAS_BACKEND"] = "tensorflow"
    for name in ("PYTEST_CURRENT_TEST", "TF_CPP_MIN_LOG_LEVEL", "TF_CONFIG"):
        env.pop(name, None)
    if data_dir is not None:
        env["ZOO_DATA_DIR"] = str(data_dir)
    return env


def _tree(directory):
    return {p.relative_to(directory) for p in directory.rglob("*")} if directory.is_dir() else set()


@pytest.mark.slow
@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=[pytest.mark.realdata] if p.stem in NEEDS_DATA else [])
                                  for p in NOTEBOOKS])
def test_notebook_runs(path, request, tmp_path):
    from nbclient import NotebookClient

    data_dir = request.getfixturevalue("shared_data") if path.stem in NEEDS_DATA else None
    if path.stem in NEEDS_CHECKPOINT:
        request.getfixturevalue("minilm_checkpoint")
    nb = nbformat.read(path, as_version=4)
    saved_models, notebook_files = _tree(REPO / "saved_models"), _tree(NOTEBOOK_DIR)
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT_S, allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute(env=_kernel_env(data_dir, tmp_path))  # a failing cell raises CellExecutionError with its traceback
    # Notebooks write to temporary directories only: no export in saved_models/, no runs/ next to the notebooks.
    assert _tree(REPO / "saved_models") == saved_models
    assert _tree(NOTEBOOK_DIR) == notebook_files
    outputs = [(index, output) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
               for output in cell.outputs]
    warned = [(index, output.get("text", "")) for index, output in outputs
              if output.output_type == "stream" and WARNING.search(output.get("text", ""))]
    assert not warned, f"{path.name} printed warnings: {warned}"
    if path.stem in SHOWS_WIDGET:
        assert any(WIDGET in output.get("data", {}) for _, output in outputs), f"{path.name}: no progress widget"
