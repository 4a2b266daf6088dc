"""Every notebook in notebooks/ runs top to bottom in a fresh kernel (fast sizes), and is stored without outputs.

The notebooks check their own results with asserts (the reloaded SavedModel predicts what the trained model
does, numpy attention equals the layer's, ...), so a wrong number fails here as a cell error.
"""
import os
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
FAST_ENV = "ZOO_NOTEBOOK_FAST"
# Notebooks that read the shared data sets; the others run anywhere.
NEEDS_DATA = {"01_quickstart", "02_distributed_training", "03_hyperparameter_search", "04_attention_maps"}
KERNEL = "python3"
CELL_TIMEOUT_S = 600


def test_every_notebook_is_listed():
    expected = {"01_quickstart", "02_distributed_training", "03_hyperparameter_search", "04_attention_maps",
                "05_transformer_from_the_equations"}
    assert {p.stem for p in NOTEBOOKS} == expected


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name} cell {index} holds outputs: clear them before committing"


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """The ``python3`` kernel; installed (with this interpreter) into a temporary prefix when it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
        yield KERNEL
        return
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    prefix = tmp_path_factory.mktemp("jupyter")
    install(kernel_name=KERNEL, prefix=str(prefix))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", os.pathsep.join(
            [str(prefix / "share" / "jupyter")] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]))
        yield KERNEL


def _kernel_env(data_dir):
    """The kernel's environment: fast sizes, zoo importable from this checkout, the tests' data location."""
    env = dict(os.environ)
    env[FAST_ENV] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["KERAS_BACKEND"] = "tensorflow"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env.pop("TF_CONFIG", None)
    if data_dir is not None:
        env["ZOO_DATA_DIR"] = str(data_dir)
    return env


def _tree(directory):
    return {p.relative_to(directory) for p in directory.rglob("*")} if directory.is_dir() else set()


@pytest.mark.slow
@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=[pytest.mark.realdata] if p.stem in NEEDS_DATA else [])
                                  for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_name, request):
    from nbclient import NotebookClient

    data_dir = request.getfixturevalue("shared_data") if path.stem in NEEDS_DATA else None
    nb = nbformat.read(path, as_version=4)
    saved_models, notebook_files = _tree(REPO / "saved_models"), _tree(NOTEBOOK_DIR)
    client = NotebookClient(nb, kernel_name=kernel_name, timeout=CELL_TIMEOUT_S, allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    start = time.perf_counter()
    client.execute(env=_kernel_env(data_dir))  # a failing cell raises CellExecutionError with its traceback
    print(f"{path.name}: {time.perf_counter() - start:.1f}s", file=sys.stderr)
    # Fast mode writes to temporary directories only: no export in saved_models/, no runs/ next to the notebooks.
    assert _tree(REPO / "saved_models") == saved_models
    assert _tree(NOTEBOOK_DIR) == notebook_files
