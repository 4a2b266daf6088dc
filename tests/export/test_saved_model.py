"""The exported SavedModel: layout, signatures, carried assets, and equality with the in-memory model."""
import json
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.data import load_tokenizer
from zoo.export import versions
from zoo.export.predict import InMemoryPredictor
from zoo.export.saved_model import classifier_outputs, export_model, read_metadata


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_export_writes_versioned_layout_with_assets(exported, tiny_run):
    path = exported.path
    assert path.name == "1" and exported.version == 1
    assert (path / "saved_model.pb").is_file() and (path / "variables").is_dir()
    assert [p.name for p in path.parent.iterdir()] == ["1"], "no partial export left behind"
    extra = path / "assets.extra"
    assert (extra / "labels.txt").read_text(encoding="utf-8").splitlines() == tiny_run.label_names
    assert json.loads((extra / "zoo_config.json").read_text())["data"]["sequence_length"] == 24
    # model.json rebuilds the architecture: with the weights it computes the same function
    rebuilt = keras.saving.deserialize_keras_object(json.loads((extra / "model.json").read_text())["keras"])
    rebuilt.set_weights(tiny_run.model.get_weights())
    ids = tiny_run.tokenizer.encode(tf.constant(tiny_run.texts[:8]), 24)
    np.testing.assert_allclose(rebuilt(ids), tiny_run.model(ids), atol=1e-6)
    meta = read_metadata(path)
    assert meta["label_names"] == tiny_run.label_names and meta["version"] == 1 and meta["name"] == "tiny"
    assert meta["sequence_length"] == 24 and meta["mode"] == "multiclass"
    # The default tokenizer normalises Unicode with tensorflow-text, and the metadata says so.
    assert meta["custom_ops"] == ["NormalizeUTF8"] and meta["requires_tensorflow_text"]
    reloaded = load_tokenizer(extra / "tokenizer")
    probe = tf.constant(["Superb acting, dull plot!", "unseen words here"])
    np.testing.assert_array_equal(reloaded.encode(probe, 24).numpy(), tiny_run.tokenizer.encode(probe, 24).numpy())


def test_signatures_match_the_keras_model(exported, tiny_run):
    loaded = tf.saved_model.load(str(exported.path))
    assert set(loaded.signatures) == {"serving_default", "serve_text", "serve_token_ids"}
    serve = loaded.signatures["serving_default"]
    (spec,) = serve.structured_input_signature[1].values()
    assert spec.dtype == tf.string and spec.shape.as_list() == [None]
    assert set(serve.structured_outputs) == set(classifier_outputs("multiclass")) == {
        "probabilities", "label_id", "label", "empty_input", "replaced_bytes", "truncated"}

    texts = tiny_run.texts[:50]
    out = serve(texts=tf.constant(texts))
    ids = tiny_run.tokenizer.encode(tf.constant(texts), 24).numpy()
    expected = _softmax(tiny_run.model.predict(ids, verbose=0).astype(np.float64))
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(out["label_id"].numpy(), expected.argmax(1))
    assert [s.decode() for s in out["label"].numpy()] == [tiny_run.label_names[i] for i in expected.argmax(1)]
    # a trained model, not a constant: both classes appear and most texts are right
    assert np.mean(expected.argmax(1) == tiny_run.labels[:50]) > 0.8

    by_ids = loaded.signatures["serve_token_ids"](token_ids=tf.constant(ids))
    np.testing.assert_allclose(by_ids["probabilities"].numpy(), out["probabilities"].numpy(), atol=1e-6)
    assert not np.any(out["empty_input"].numpy()) and not np.any(out["replaced_bytes"].numpy())
    assert not np.any(by_ids["empty_input"].numpy()) and not np.any(out["truncated"].numpy())

    in_memory = InMemoryPredictor(tiny_run.model, tiny_run.tokenizer, tiny_run.label_names).predict(texts)
    np.testing.assert_allclose(in_memory.probabilities, out["probabilities"].numpy(), atol=1e-6)


def test_versions_increase_and_taken_versions_are_refused(exported, tiny_run, tmp_path, monkeypatch):
    monkeypatch.setattr(versions, "saved_models_dir", lambda: tmp_path / "saved_models")
    assert versions.resolve_export_dir(name="mr") == (tmp_path / "saved_models" / "mr" / "1", 1)
    base = exported.path.parent
    assert versions.versions(base) == [1] and versions.latest_version_dir(base) == base / "1"
    assert versions.resolve_export_dir(base, name="ignored") == (base / "2", 2)
    assert versions.resolve_export_dir(base / "7", name="ignored") == (base / "7", 7)
    with pytest.raises(versions.ExportPathError, match="already exists"):
        export_model(tiny_run.model, tiny_run.tokenizer, tiny_run.label_names, out=base / "1")
    with pytest.raises(versions.ExportPathError, match="positive integer"):
        versions.resolve_export_dir(base / "0", name="x")
    with pytest.raises(versions.ExportPathError, match="plain directory name"):
        versions.resolve_export_dir(name="../escape")
    # a failed write leaves no version folder behind (TF Serving would try to load it)
    with pytest.raises(RuntimeError, match="disk full"):
        with versions.atomic_directory(tmp_path / "m" / "1") as partial:
            (partial / "saved_model.pb").write_bytes(b"half")
            raise RuntimeError("disk full")
    assert list((tmp_path / "m").iterdir()) == []
    with versions.atomic_directory(tmp_path / "m" / "1") as partial:
        (partial / "saved_model.pb").write_bytes(b"whole")
    assert versions.versions(tmp_path / "m") == [1] and versions.next_version(tmp_path / "m") == 2


def test_a_label_count_mismatch_and_names_labels_txt_cannot_hold_are_refused(tiny_run, tmp_path):
    with pytest.raises(ValueError, match=r"outputs 2 logits, but 3 label names \['a', 'b', 'c'\] in multiclass mode "
                                         r"need 3: give the label names the model was trained with"):
        export_model(tiny_run.model, tiny_run.tokenizer, ["a", "b", "c"], out=tmp_path / "m")
    # it raised AttributeError: 'NoneType' object has no attribute 'pad_id'
    with pytest.raises(ValueError, match=r"^tokenizer must be the zoo tokenizer the model was trained with "
                                         r"\(zoo.load_run returns it beside the model\), got None$"):
        export_model(tiny_run.model, None, ["a", "b"], out=tmp_path / "m")
    # it said "1 labels ['a'] in multiclass mode need 1"
    with pytest.raises(ValueError, match=r"outputs 2 logits, but 1 label name \['a'\] in multiclass mode need 1:"):
        export_model(tiny_run.model, tiny_run.tokenizer, ["a"], out=tmp_path / "m")
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())
    # labels.txt holds one name per line: it read 'bad', 'news', ' good' for these two classes
    with pytest.raises(ValueError, match=r"label name 'bad\\nnews' \(id 0\) cannot be stored one per line"):
        export_model(tiny_run.model, tiny_run.tokenizer, ["bad\nnews", "good"], out=tmp_path / "m")
    with pytest.raises(ValueError, match=r"label name ' good' \(id 1\) cannot be stored one per line"):
        export_model(tiny_run.model, tiny_run.tokenizer, ["bad", " good"], out=tmp_path / "m")
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())


def test_version_folders_are_plain_numbers_and_each_number_is_taken_once(tmp_path):
    base = tmp_path / "mr"
    for folder in ("1", "01", "notes"):
        (base / folder).mkdir(parents=True)
    assert versions.versions(base) == [1] and versions.next_version(base) == 2
    for folder in ("01", "0", "²", "٣"):
        with pytest.raises(versions.ExportPathError, match=f"ASCII digits without a leading zero .*got '{folder}'"):
            versions.resolve_export_dir(base / folder, name="x")
    # TF Serving reads a folder "03" as version 3: zoo neither lists it nor writes a second version 3 beside it.
    legacy = tmp_path / "legacy"
    (legacy / "03").mkdir(parents=True)
    assert versions.versions(legacy) == [] and versions.next_version(legacy) == 4
    with pytest.raises(versions.ExportPathError, match=re.escape(f"{legacy / '3'} already exists as {legacy / '03'}")):
        versions.resolve_export_dir(legacy / "3", name="x")
    assert versions.resolve_export_dir(legacy, name="x") == (legacy / "4", 4)
