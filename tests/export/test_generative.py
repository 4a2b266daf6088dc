"""The serving graph of an lm or seq2seq export: its options checked as zoo generate checks them."""
import numpy as np
import pytest

from zoo.export.generative import GenerativeServingGraph


@pytest.mark.parametrize("bad", [0, -1, True, 2.0, "3", np.int64(0)])
def test_max_new_tokens_is_refused_as_zoo_generate_refuses_it(lm, bad):
    from zoo.evaluation.generation import generate_texts

    with pytest.raises(ValueError) as error:
        GenerativeServingGraph(*lm, "lm", 8, max_new_tokens=bad)
    assert str(error.value) == f"max_new_tokens (--max-new-tokens) must be a positive integer, got {bad!r}"
    with pytest.raises(ValueError) as generating:
        generate_texts("runs/none", ["a b"], max_new_tokens=bad)  # checked before the run is read
    assert str(generating.value) == str(error.value)


def test_a_numpy_integer_max_new_tokens_exports_as_zoo_generate_takes_it(lm, tmp_path):
    # zoo generate took np.int64(3) and the export refused it: "must be a positive integer, got np.int64(3)".
    from zoo.export.predict import generate_with_export
    from zoo.export.saved_model import export_generator, read_metadata

    result = export_generator(*lm, "lm", 8, out=tmp_path / "lm", max_new_tokens=np.int64(3))
    assert read_metadata(result.path)["max_new_tokens"] == 3
    [row] = generate_with_export(result.path, ["a b"])
    assert len(row["generated"].split()) <= 3


def test_a_seq2seq_export_generates_by_default_what_its_target_positions_hold(lm):
    # zoo export of a seq2seq run with target_length 8 and sequence_length 16 said "up to 16 tokens per text"
    import zoo

    tokenizer = lm[1]
    model = zoo.build("seq2seq", vocab_size=tokenizer.vocab_size, sequence_length=16, target_length=8, num_layers=1,
                      d_model=16, num_heads=2, ff_dim=32)
    assert GenerativeServingGraph(model, tokenizer, "seq2seq", 16).max_new_tokens == 8
    assert GenerativeServingGraph(*lm, "lm", 8).max_new_tokens == 8
