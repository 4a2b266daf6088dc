"""Fixtures shared with the export tests (each built once per test process)."""
from tests.export.conftest import tiny_run, trained_run  # noqa: F401
