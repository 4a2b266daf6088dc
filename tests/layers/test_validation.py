import json

import numpy as np
import pytest

from zoo.layers import ClassificationHead, MultiHeadAttention, TransformerDecoderBlock, TransformerEncoderBlock


def test_numpy_numbers_are_taken_as_the_python_numbers_they_equal():
    # np.int64(16) was "`d_model` must be a positive integer, got np.int64(16)", np.float32(0.25) not a rate.
    block = TransformerEncoderBlock(np.int64(16), np.int32(4), np.int64(32), dropout=np.float32(0.25), name="b")
    head = ClassificationHead(np.int64(3), hidden_dim=np.int64(4), dropout=np.float64(0.5), name="h")
    # The configs hold Python numbers, so they are the plain-number layers' configs, JSON included.
    assert json.dumps(block.get_config()) == json.dumps(
        TransformerEncoderBlock(16, 4, 32, dropout=0.25, name="b").get_config())
    assert json.dumps(head.get_config()) == json.dumps(
        ClassificationHead(3, hidden_dim=4, dropout=0.5, name="h").get_config())


@pytest.mark.parametrize("num_heads", [True, 2.0, np.float64(2.0), "2"])
def test_non_integers_are_still_refused(num_heads):
    with pytest.raises(ValueError, match="`num_heads` must be a positive integer"):
        TransformerEncoderBlock(16, num_heads, 32)


@pytest.mark.parametrize("layer, name", [(TransformerEncoderBlock, "norm_first"), (TransformerEncoderBlock, "use_rotary"),
                                         (TransformerDecoderBlock, "norm_first"), (MultiHeadAttention, "use_bias")])
def test_flags_take_booleans_only(layer, name):
    # bool("false") is True: the string turned the option on silently.
    sizes = {"d_model": 16, "num_heads": 4} | ({} if layer is MultiHeadAttention else {"ff_dim": 32})
    with pytest.raises(ValueError, match=f"`{name}` must be True or False, got 'false'"):
        layer(**sizes, **{name: "false"})


def test_skip_padding_takes_none_or_a_boolean():
    with pytest.raises(ValueError, match="`skip_padding` must be None, True or False, got 'false'"):
        TransformerEncoderBlock(16, 4, 32, skip_padding="false")
