"""The house docstring rule for the public API: every exported function and layer/model class shows an Example.

Result records (dataclasses, named tuples) and exceptions document their attributes instead; the examples
themselves run as doctests (``--doctest-modules``, see ``conftest.py``).
"""
import dataclasses
import importlib
import inspect

import pytest

import zoo

PACKAGES = ["zoo"] + [f"zoo.{name}" for name in zoo.__all__ if inspect.ismodule(getattr(zoo, name))]


def _needs_example(obj):
    if inspect.isfunction(obj):
        return True
    if inspect.isclass(obj):
        record = dataclasses.is_dataclass(obj) or (issubclass(obj, tuple) and hasattr(obj, "_fields"))
        return not (record or issubclass(obj, BaseException))
    return False


def _public(package):
    module = importlib.import_module(package)
    return [(name, getattr(module, name)) for name in module.__all__ if _needs_example(getattr(module, name))]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_function_and_class_has_a_docstring_example(package):
    public = _public(package)
    assert public, f"{package} exports no function or class"
    missing = [name for name, obj in public if ">>>" not in (inspect.getdoc(obj) or "")]
    assert not missing, f"{package}: no '>>>' Example in the docstring of {missing}"


def test_dir_of_zoo_lists_the_api_and_nothing_public_besides():
    # it listed importlib, the module zoo/__init__.py loads its parts with
    public = {name: getattr(zoo, name) for name in dir(zoo) if not name.startswith("_")}
    # Python adds every imported submodule (zoo.config, zoo.paths, ...) to the package's names.
    others = {name for name, value in public.items()
              if name not in zoo.__all__ and not (inspect.ismodule(value) and value.__name__ == f"zoo.{name}")}
    assert not others and set(zoo.__all__) <= set(public)
