"""PEP 562 lazy re-exports, so importing a package does not import TensorFlow until a name is used."""
import importlib


def lazy_exports(package, namespace, mapping):
    """Return ``(__getattr__, __dir__)`` for ``package`` that import ``mapping[name]`` on first use.

    Args:
        package: The package's ``__name__`` (for error messages).
        namespace: The package's ``globals()``; resolved names are cached there.
        mapping: Public name -> module that defines it.

    Example:
        >>> namespace = {}
        >>> module_getattr, module_dir = lazy_exports("demo", namespace, {"load": "zoo.data.sources"})
        >>> module_getattr("load").__module__, list(namespace), module_dir()
        ('zoo.data.sources', ['load'], ['load'])
    """

    def __getattr__(name):
        module = mapping.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(mapping))

    return __getattr__, __dir__
