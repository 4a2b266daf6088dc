"""Output locations: checked before the work, and an OSError while writing named with its fix."""
import errno

import pytest

from zoo.paths import OutputPathError, check_output, output_errors

FIX = "set out_dir (--out) to a directory you can write"


def test_check_output_leaves_nothing_behind_and_names_what_blocks(tmp_path):
    check_output(tmp_path / "new" / "report", FIX)
    check_output(tmp_path / "new" / "p.jsonl", FIX, is_file=True)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputPathError, match=f"cannot write {tmp_path}/afile/a/b: {tmp_path}/afile is a file"):
        check_output(tmp_path / "afile" / "a" / "b", FIX)


def test_only_an_oserror_on_the_output_becomes_an_output_error(tmp_path):
    out = tmp_path / "report"
    with pytest.raises(OutputPathError) as caught:
        with output_errors(out, FIX):
            raise OSError(errno.ENOSPC, "No space left on device", str(out / "plot.png"))
    assert str(caught.value) == f"cannot write {out}: No space left on device ({out}/plot.png); {FIX}"
    with pytest.raises(OutputPathError, match="Not a directory"):
        with output_errors(out, FIX):  # a directory the output needs
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(tmp_path))
    with pytest.raises(PermissionError):  # reading an input elsewhere is not the output's problem
        with output_errors(out, FIX):
            raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path.parent / "data.csv"))
