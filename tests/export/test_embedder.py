"""A checkpoint folder's sentence-embedder export: its options and the advice its errors give."""
import pytest

from tests.converters.checkpoints import write_bert_checkpoint
from zoo.cli import main
from zoo.export.embed import embed
from zoo.export.saved_model import read_metadata


def test_a_checkpoint_exports_with_the_sequence_length_asked_for(tmp_path, capsys):
    folder = write_bert_checkpoint(tmp_path / "bert")[0]
    # zoo embed advised exporting "again with the length you want", which no option of zoo export could set
    assert main(["export", str(folder), "--out", str(tmp_path / "e"), "--sequence-length", "8"]) == 0
    assert read_metadata(tmp_path / "e" / "1")["sequence_length"] == 8
    assert embed(tmp_path / "e", ["a b c d e f g h i j"]).truncated.tolist() == [True]
    with pytest.raises(ValueError, match=r"^sequence_length \(--sequence-length\) 6: .*e/1 was exported with 8; export "
                                         rf"the checkpoint again with it \(zoo export {folder} --sequence-length 6\)$"):
        embed(tmp_path / "e", ["a b"], sequence_length=6)
    capsys.readouterr()
    assert main(["export", str(tmp_path / "e"), "--sequence-length", "8"]) == 2
    assert "applies to checkpoint folders" in capsys.readouterr().err
