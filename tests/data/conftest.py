"""Fixtures for the data tests: a small labelled corpus and a file writer."""
import pytest

CORPUS = [
    ("a gripping , beautifully acted film with a great score", "pos"),
    ("the best movie of the year : moving , funny and smart", "pos"),
    ("an unforgettable and touching story , wonderfully told", "pos"),
    ("smart writing and great acting make this a joy to watch", "pos"),
    ("funny , warm and surprisingly moving", "pos"),
    ("a beautiful , gripping and unforgettable ride", "pos"),
    ("dull , predictable and far too long", "neg"),
    ("the worst film of the year : boring and badly acted", "neg"),
    ("a tedious , silly mess with no story to speak of", "neg"),
    ("predictable writing and flat acting make this a chore", "neg"),
    ("boring , lifeless and never funny", "neg"),
    ("a silly , tedious and forgettable ride", "neg"),
]


@pytest.fixture(scope="session")
def corpus():
    """Twelve short reviews, six per class: ``(texts, label strings)``."""
    return [t for t, _ in CORPUS], [y for _, y in CORPUS]


@pytest.fixture
def write(tmp_path):
    """Write ``content`` (str as UTF-8, or bytes) to ``tmp_path/name``; returns the path."""

    def _write(name, content):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return _write
