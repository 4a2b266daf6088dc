"""``zoo train --pretrained CHECKPOINT``: a classifier over a BERT checkpoint folder and the checkpoint's tokenizer."""
import json

import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.converters.checkpoints import write_bert_checkpoint
from zoo.cli import main
from zoo.config import ConfigError
from zoo.data import BertTokenizer
from zoo.training import load_run

POSITIVE = ["a good film", "great fun", "a very funny story", "good , great and fun"]
NEGATIVE = ["a dull movie", "boring and bad", "not fun", "a very boring story"]
ADVERBS = ["really", "truly", "so", "quite", "indeed", "honestly"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("from_checkpoint")
    folder, _, weights = write_bert_checkpoint(root / "checkpoint")
    # Distinct rows: training drops repeated texts before splitting.
    rows = [(f"{texts[i % 4]} {ADVERBS[i // 4]}", label) for texts, label in ((POSITIVE, "pos"), (NEGATIVE, "neg"))
            for i in range(24)]
    data = root / "data.csv"
    data.write_text("text,label\n" + "".join(f'"{text}",{label}\n' for text, label in rows))
    return root, folder, weights, data


@pytest.mark.slow
def test_train_from_a_checkpoint_folder_on_the_command_line(setup):
    root, folder, weights, data = setup
    run_dir = root / "run"
    assert main(["train", "--data", str(data), "--pretrained", str(folder), "--output", str(run_dir),
                 "--set", "training.epochs=2", "--set", "training.batch_size=8", "--set", "data.sequence_length=16",
                 "--set", "model.freeze=encoder", "--set", "output.progress=none"]) == 0
    assert json.loads((run_dir / "tokenizer" / "tokenizer.json").read_text())["kind"] == "bert"
    assert json.loads((run_dir / "model.json").read_text())["init_from"] == str(folder)

    model, tokenizer, labels, config = load_run(run_dir)
    assert isinstance(tokenizer, BertTokenizer) and labels == ["neg", "pos"] and config.model.init_from == str(folder)
    # The frozen backbone is exactly the checkpoint's; the head was trained.
    backbone = model.backbone
    np.testing.assert_array_equal(backbone.token_embedding.embeddings.numpy(),
                                  weights["embeddings.word_embeddings.weight"])
    np.testing.assert_array_equal(backbone.blocks[1].feedforward.projection.kernel.numpy(),
                                  weights["encoder.layer.1.output.dense.weight"].T)
    assert np.abs(model.head.logits.kernel.numpy()).max() > 0
    # The run's predictions read the text through the checkpoint's tokenizer: [CLS] text [SEP], segment 0.
    packed = tokenizer.pack(tf.constant(["a good film"]), sequence_length=16)
    logits = model({"token_ids": packed["token_ids"], "segment_ids": packed["segment_ids"]}).numpy()
    predicted = zoo.predict(run_dir, ["a good film"])[0]["probabilities"]
    np.testing.assert_allclose([predicted["neg"], predicted["pos"]], tf.nn.softmax(logits).numpy()[0], atol=1e-5)


@pytest.mark.parametrize("change, message", [
    ({"model": {"overrides": {"num_layers": 4}}}, r"model.overrides \['num_layers'\]: the architecture comes from"),
    ({"model": {"name": "lm", "overrides": {}}}, "starts a classifier, but model.name 'lm' is an lm model"),
    ({"data": {"sequence_length": 64}}, "data.sequence_length: 64 is more than the 40 positions of the checkpoint"),
    # The checkpoint's tokenizer gives the ids: a tokenizer setting would be silently ignored (and recorded).
    ({"data": {"tokenizer": "char", "vocab_size": 500}},
     r"is a pretrained checkpoint, whose own tokenizer .* data.tokenizer='char', data.vocab_size=500 would not "
     "apply: remove them"),
    ({"model": {"init_from": "no/such/folder"}}, "model.init_from: no/such/folder not found; give a pretrained "
                                                 r"checkpoint folder \(config.json\) or a finished zoo pretrain run"),
])
def test_checkpoint_config_errors_name_the_key(setup, change, message):
    root, folder, _, data = setup
    config = {"data": {"source": str(data), "sequence_length": 16}, "model": {"init_from": str(folder)},
              "training": {"epochs": 1}, "output": {"dir": str(root / "bad"), "progress": "none", "overwrite": True}}
    for section, values in change.items():
        config[section] = {**config[section], **values}
    with pytest.raises(ConfigError, match=message):
        zoo.train(config)


@pytest.mark.parametrize("length, says", [
    (None, "data.sequence_length: 128 (the fine-tuning recipe's default) is more than"),
    (64, "data.sequence_length: 64 is more than"),
])
def test_a_length_beyond_the_checkpoints_positions_says_whose_it_is_and_how_to_fix_it(setup, length, says):
    """The recipe's 128 used to fail on this 40-position checkpoint blaming data.sequence_length, a key nobody set,
    with no way out."""
    root, folder, _, data = setup
    config = {"data": {"source": str(data)}, "model": {"init_from": str(folder)},
              "output": {"dir": str(root / "long"), "progress": "none"}}
    if length is not None:
        config["data"]["sequence_length"] = length
    with pytest.raises(ConfigError) as error:
        zoo.train(config)
    assert str(error.value) == (f"{says} the 40 positions of the checkpoint {folder}; set data.sequence_length to "
                                "at most 40, or to auto (which caps it there)")
    assert not (root / "long").exists()


def test_a_model_key_a_checkpoint_run_cannot_take_is_refused_before_any_data_is_read(setup, monkeypatch):
    # model.name: lstm came after the data load, the run summary and the fine-tuning recipe's lines.
    root, folder, _, data = setup

    def no_data(*args, **kwargs):
        raise AssertionError("the data were read before the config was checked")

    monkeypatch.setattr("zoo.training.run.load_splits", no_data)
    config = {"data": {"source": str(data)}, "model": {"init_from": str(folder), "name": "lstm"},
              "output": {"dir": str(root / "lstm"), "progress": "none"}}
    with pytest.raises(ConfigError, match="^model.name: 'lstm' would not apply: a run from the checkpoint folder"):
        zoo.train(config)
    assert not (root / "lstm").exists()
