"""Checkpoints damaged on disk: the file at fault is named, the newest intact checkpoint is restored."""
import time

import pytest
import tensorflow as tf

from zoo.training.checkpoints import (CheckpointError, Checkpointer, CheckpointWriteError, RunClock, RunPrecision,
                                      checkpoint_paths, damaged_file, saved_precision)


@pytest.fixture
def three(tmp_path):
    """A checkpoint directory with ckpt-1..3 of one variable holding 1.0, 2.0, 3.0."""
    variable = tf.Variable(0.0)
    checkpointer = Checkpointer(tmp_path / "checkpoints", max_to_keep=5, v=variable)
    for step in (1, 2, 3):
        variable.assign(float(step))
        checkpointer.save(step)
    variable.assign(-1.0)
    return tmp_path / "checkpoints", variable


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _data_file(directory, step):
    (file,) = directory.glob(f"ckpt-{step}.data-*")
    return file


def test_intact_checkpoints_have_no_damaged_file(three):
    directory, _ = three
    assert checkpoint_paths(directory) == [str(directory / f"ckpt-{n}") for n in (3, 2, 1)]
    assert all(damaged_file(path) is None for path in checkpoint_paths(directory))


def test_each_kind_of_damage_names_the_file(three):
    directory, _ = three
    data = _data_file(directory, 3)
    data.unlink()
    assert damaged_file(directory / "ckpt-3") == (str(data), "is missing")
    _truncate(_data_file(directory, 2))
    file, what = damaged_file(directory / "ckpt-2")
    assert file == str(_data_file(directory, 2)) and what.startswith("is truncated or corrupt (IndexError")
    (directory / "ckpt-1.index").write_bytes(b"not an index")
    file, what = damaged_file(directory / "ckpt-1")
    assert file == str(directory / "ckpt-1.index") and what.startswith("cannot be read")


def test_a_deleted_data_file_falls_back_to_the_checkpoint_before(three):
    directory, variable = three
    missing = _data_file(directory, 3)
    missing.unlink()
    checkpointer = Checkpointer(directory, max_to_keep=5, v=variable)
    assert checkpointer.restore() == str(directory / "ckpt-2")
    assert float(variable.numpy()) == 2.0
    (problem,) = checkpointer.problems
    assert f"checkpoint {directory / 'ckpt-3'} is damaged: {missing} is missing; trying the one before it" == problem
    # the index now lists the intact checkpoints only, so the next saves rotate them normally
    assert tf.train.get_checkpoint_state(str(directory)).all_model_checkpoint_paths == [
        str(directory / "ckpt-1"), str(directory / "ckpt-2")]


def test_a_truncated_checkpoint_falls_back_too(three):
    directory, variable = three
    _truncate(_data_file(directory, 3))
    checkpointer = Checkpointer(directory, max_to_keep=5, v=variable)
    assert checkpointer.restore() == str(directory / "ckpt-2") and float(variable.numpy()) == 2.0
    assert "ckpt-3.data-00000-of-00001 is truncated or corrupt" in checkpointer.problems[0]


def test_checkpoints_are_found_without_their_index_file(three):
    directory, variable = three
    (directory / "checkpoint").unlink()
    checkpointer = Checkpointer(directory, max_to_keep=5, v=variable)
    assert checkpointer.latest is None
    assert checkpointer.restore() == str(directory / "ckpt-3") and float(variable.numpy()) == 3.0
    assert checkpointer.problems == [f"{directory / 'checkpoint'} (the list of checkpoints) is missing or "
                                     "unreadable; found ckpt-3, ckpt-2, ckpt-1 by their files"]
    assert checkpointer.latest == str(directory / "ckpt-3")


def test_no_intact_checkpoint_is_an_error_naming_every_file(three):
    directory, variable = three
    for step in (1, 2, 3):
        _truncate(_data_file(directory, step))
    with pytest.raises(CheckpointError, match=r"no intact checkpoint to resume from in .*checkpoints: checkpoint "
                                              r".*ckpt-3 is damaged: .*ckpt-3.data-00000-of-00001 is truncated.*"
                                              r"ckpt-1.data-00000-of-00001 is truncated or corrupt .*it was the last\. "
                                              r"Set output.overwrite: true to start the run afresh"):
        Checkpointer(directory, v=variable).restore()
    assert len(list(directory.glob("ckpt-*.index"))) == 3, "nothing is deleted"


def test_an_empty_directory_has_nothing_to_restore(tmp_path):
    assert Checkpointer(tmp_path / "none", v=tf.Variable(1.0)).restore() is None
    assert checkpoint_paths(tmp_path / "none") == []
    assert damaged_file(tmp_path / "none" / "ckpt-1") == (str(tmp_path / "none" / "ckpt-1.index"), "is missing")


def test_a_run_clock_goes_on_from_the_checkpoint_it_resumes(tmp_path):
    """A run's wall-clock seconds add up over its invocations; a checkpoint saved before zoo saved the clock
    still restores (its invocations' time is then unknown, and only this one's counts)."""
    first = RunClock(start=time.perf_counter() - 10.0)  # an invocation that began 10 s ago
    Checkpointer(tmp_path / "clocked", clock=first, v=tf.Variable(1.0)).save(1)
    Checkpointer(tmp_path / "plain", v=tf.Variable(1.0)).save(1)
    for directory, earlier in (("clocked", 10.0), ("plain", 0.0)):
        resumed = RunClock(start=time.perf_counter() - 2.0)
        variable = tf.Variable(0.0)
        assert Checkpointer(tmp_path / directory, clock=resumed, v=variable).restore()
        assert variable.numpy() == 1.0
        assert earlier + 2.0 <= resumed.seconds() < earlier + 3.0, directory


def test_the_newest_checkpoint_is_the_highest_step_not_the_last_name_in_text_order(tmp_path):
    # "ckpt-9" sorts after "ckpt-10" as text: a resumed run went back to step 9.
    variable = tf.Variable(0.0)
    checkpointer = Checkpointer(tmp_path / "checkpoints", max_to_keep=5, v=variable)
    for step in (9, 10):
        variable.assign(float(step))
        checkpointer.save(step)
    assert checkpoint_paths(tmp_path / "checkpoints") == [str(tmp_path / "checkpoints" / f"ckpt-{n}") for n in (10, 9)]
    (tmp_path / "checkpoints" / "checkpoint").unlink()
    variable.assign(-1.0)
    assert Checkpointer(tmp_path / "checkpoints", v=variable).restore() == str(tmp_path / "checkpoints" / "ckpt-10")
    assert float(variable.numpy()) == 10.0


def test_the_precision_is_read_back_before_any_model_exists_and_old_checkpoints_still_restore(tmp_path):
    """A resume reads the policy before it builds the model; checkpoints saved before zoo saved the policy give
    None (the run then resolves training.precision afresh) and restore as before."""
    precise = Checkpointer(tmp_path / "precise", precision=RunPrecision("mixed_bfloat16"), v=tf.Variable(1.0))
    for step in (1, 2):
        precise.save(step)
    Checkpointer(tmp_path / "plain", v=tf.Variable(1.0)).save(1)
    assert saved_precision(tmp_path / "precise") == "mixed_bfloat16"
    assert saved_precision(tmp_path / "plain") is None and saved_precision(tmp_path / "none") is None
    (tmp_path / "precise" / "ckpt-2.data-00000-of-00001").unlink()  # the newest damaged: the one before holds it
    assert saved_precision(tmp_path / "precise") == "mixed_bfloat16"
    variable = tf.Variable(0.0)
    assert Checkpointer(tmp_path / "plain", precision=RunPrecision("float32"), v=variable).restore()
    assert variable.numpy() == 1.0


@pytest.mark.parametrize("failure", [
    tf.errors.ResourceExhaustedError(None, None, "ckpt-4_temp/part-00000-of-00001.data-00000-of-00001.tempstate1; "
                                     "No space left on device [Op:SaveV2]"),
    OSError(28, "No space left on device"),
])
def test_a_disk_full_save_names_the_directory_and_keeps_the_last_complete_checkpoint(three, monkeypatch, failure):
    directory, variable = three
    checkpointer = Checkpointer(directory, max_to_keep=5, v=variable)
    checkpointer.restore()

    def full_disk(prefix, options=None):
        temp = directory / "ckpt-4_temp"
        temp.mkdir()
        (temp / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"partial")
        (directory / "ckpt-4.data-00000-of-00001").write_bytes(b"partial")
        raise failure

    monkeypatch.setattr(checkpointer.checkpoint, "_write", full_disk)
    with pytest.raises(CheckpointWriteError) as caught:
        checkpointer.save(4)
    message = str(caught.value)
    assert message == (f"cannot write checkpoint ckpt-4 in {directory}: no space left on device; free space there "
                       "and rerun the same command: it resumes from the last complete checkpoint "
                       f"{directory / 'ckpt-3'}")
    assert "\n" not in message and isinstance(caught.value, ValueError)  # the command line prints it on one line
    # The partial files, which hold the space the rerun needs, are gone; the complete checkpoints stay.
    assert sorted(p.name for p in directory.iterdir() if p.name.startswith("ckpt-4")) == []
    assert checkpoint_paths(directory) == [str(directory / f"ckpt-{n}") for n in (3, 2, 1)]
    assert Checkpointer(directory, max_to_keep=5, v=variable).restore() == str(directory / "ckpt-3")


def test_other_save_errors_pass_through(three, monkeypatch):
    directory, variable = three
    checkpointer = Checkpointer(directory, max_to_keep=5, v=variable)

    def broken(prefix, options=None):
        raise tf.errors.InvalidArgumentError(None, None, "shape mismatch")

    monkeypatch.setattr(checkpointer.checkpoint, "_write", broken)
    with pytest.raises(tf.errors.InvalidArgumentError):
        checkpointer.save(4)
