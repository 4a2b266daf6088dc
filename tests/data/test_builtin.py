"""The MR copy shipped inside zoo: the original bytes, read when no data directory provides MR."""
import bz2
import hashlib
import re

import pytest

from zoo import paths
from zoo.data.sources import load

EMBEDDED = paths.embedded_data_dir() / "mr"


def test_embedded_files_decompress_to_the_sha256_sums_of_the_readme():
    readme = (EMBEDDED / "README.md").read_text(encoding="utf-8")
    published = dict(re.findall(r"\| `(rt-polarity\.(?:pos|neg))` \| \d+ \| \d+ \| `([0-9a-f]{64})` \|", readme))
    assert sorted(published) == ["rt-polarity.neg", "rt-polarity.pos"]
    for name, digest in published.items():
        data = bz2.decompress((EMBEDDED / f"{name}.bz2").read_bytes())
        assert hashlib.sha256(data).hexdigest() == digest, name
        assert data.count(b"\n") == 5331


def test_embedded_copy_carries_its_licence_and_citation_and_stays_small():
    assert "CC BY 4.0" in (EMBEDDED / "LICENSE.md").read_text(encoding="utf-8")
    assert "Seeing Stars" in (EMBEDDED / "CITATION.bib").read_text(encoding="utf-8")
    assert sum(p.stat().st_size for p in EMBEDDED.iterdir()) < 500_000


def test_mr_without_a_data_directory_reads_the_embedded_copy(monkeypatch):
    monkeypatch.delenv(paths.DATA_DIR_ENV, raising=False)
    data = load("mr")
    assert data.class_counts() == {"neg": 5331, "pos": 5331}
    assert data.location(0) == f"{EMBEDDED / 'rt-polarity.neg.bz2'}, line 1"
    # Byte 0x85 (cp1252 "...") decodes to U+0085, which str.splitlines would split on.
    assert any("\x85" in text for text in data.texts)


def test_a_data_directory_with_mr_wins_and_one_without_falls_back(monkeypatch, tmp_path):
    (tmp_path / "mine" / "mr").mkdir(parents=True)
    (tmp_path / "mine" / "mr" / "rt-polarity.pos").write_bytes(b"good\nfine \x85 film\n")
    (tmp_path / "mine" / "mr" / "rt-polarity.neg").write_bytes(b"bad\n")
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "mine"))
    mine = load("mr")
    assert mine.texts == ["bad", "good", "fine \x85 film"] and mine.label_names == ["neg", "pos"]
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path))
    assert len(load("mr")) == 10662


def test_equals_the_shared_copy_when_there_is_one():
    shared = paths.data_dir() / "mr"
    if not shared.is_dir():
        pytest.skip(f"no shared MR at {shared} to compare with")
    for name in ("rt-polarity.pos", "rt-polarity.neg"):
        assert bz2.decompress((EMBEDDED / f"{name}.bz2").read_bytes()) == (shared / name).read_bytes()
