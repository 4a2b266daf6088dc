import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.harness import assert_all_gradients_flow, to_numpy
import zoo
from zoo import build, build_cnn_classifier, build_lstm_classifier, build_transformer, list_models
from zoo.models import UnknownModelError, attention_maps, model_names, registry, task_of

SMALL = {"vocab_size": 60, "sequence_length": 16}
RNG = np.random.default_rng(5)


def _ids(batch=4, length=12, real=(12, 9, 5, 1)):
    ids = RNG.integers(1, 60, size=(batch, length)).astype("int32")
    for i, n in enumerate(real):
        ids[i, n:] = 0
    return ids


def _small(name):
    overrides = dict(SMALL)
    if name.startswith("transformer") or task_of(name) != "classification":
        overrides.update(num_layers=1, d_model=16, num_heads=2, ff_dim=32)
    return build(name, **overrides)


@pytest.mark.parametrize("pooling", ["cls", "mean", "max", "attention"])
@pytest.mark.parametrize("positional", ["learned", "sinusoidal", "rotary"])
def test_padding_changes_neither_logits_nor_encoder_outputs(pooling, positional):
    model = build_transformer(**SMALL, num_classes=3, num_layers=2, d_model=16, num_heads=2, ff_dim=32,
                              pooling=pooling, positional=positional)
    # [4, 12] ids (the other tests' shape, so JAX reuses their compiled ops), three rows already padded, and
    # the same ids padded to the full sequence_length.
    ids = _ids(real=(12, 9, 5, 1))
    padded = np.pad(ids, ((0, 0), (0, 4)))
    np.testing.assert_allclose(to_numpy(model(ids)), to_numpy(model(padded)), atol=1e-5)

    def sequence(ids):
        return to_numpy(model.backbone({"token_ids": ids, "padding_mask": ids != 0})["sequence_output"])

    a, b = sequence(ids), sequence(padded)
    real = ids != 0
    np.testing.assert_allclose(a[real], b[:, :12][real], atol=1e-5)


def test_backbone_and_modes():
    backbone = build_transformer(**SMALL, num_classes=None, d_model=16, num_heads=2, ff_dim=32)
    ids = _ids()
    assert backbone({"token_ids": ids, "padding_mask": ids != 0})["sequence_output"].shape == (4, 12, 16)
    # The padding tests' sizes (ff_dim too): under JAX their ops are compiled already.
    sizes = {"d_model": 16, "num_heads": 2, "ff_dim": 32}
    assert build_transformer(**SMALL, num_classes=2, mode="binary", **sizes)(_ids()).shape == (4, 1)
    assert build_transformer(**SMALL, num_classes=5, mode="multilabel", **sizes)(_ids()).shape == (4, 5)
    # head settings of a bare backbone were dropped without a word
    with pytest.raises(ValueError, match=r"num_classes=None builds the bare backbone, which has no classification "
                                         r"head: pooling='cls', head_dropout=0.2 would not apply; remove them"):
        build_transformer(**SMALL, num_classes=None, pooling="cls", head_dropout=0.2)


def _inputs_of(name, ids):
    """The model inputs of a registry model for ``[4, 12]`` ids: a dict for seq2seq and mlm."""
    if task_of(name) == "seq2seq":
        return {"encoder_ids": ids, "decoder_ids": ids[:, :5]}
    if task_of(name) == "mlm":
        return {"token_ids": ids, "mask_positions": np.tile(np.arange(0, 12, 2, dtype="int32"), (len(ids), 1))}
    return ids


@pytest.mark.parametrize("name", model_names())
def test_every_registry_model_saves_and_reloads_identically(name, tmp_path):
    model = _small(name)
    ids = _ids()
    ids = _inputs_of(name, ids)
    before = to_numpy(model(ids))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    after = to_numpy(keras.saving.load_model(path)(ids))
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-6)
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(to_numpy(clone(ids)), before, atol=1e-6)


def test_zoo_load_model_after_a_bare_import_zoo_loads_every_saved_model(tmp_path):
    # `import zoo` loads its parts lazily, so in a fresh interpreter keras.models.load_model failed for every zoo
    # model ("Could not locate class 'TextClassifier'"): nothing had registered the classes with Keras.
    names = [name for name in model_names() if name not in ("transformer-small", "transformer-base")]
    ids = _ids()
    for name in names:
        model = _small(name)
        model.save(tmp_path / f"{name}.keras")
        np.save(tmp_path / f"{name}.npy", to_numpy(model(_inputs_of(name, ids))))
    np.save(tmp_path / "ids.npy", ids)
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        import zoo
        assert "zoo.models" not in sys.modules
        from tests.models.test_models import _inputs_of
        ids = np.load("ids.npy")
        for name in {names!r}:
            model = zoo.load_model(name + ".keras")
            out = np.asarray(model(_inputs_of(name, ids)))
            np.testing.assert_allclose(out, np.load(name + ".npy"), rtol=0, atol=1e-6)
            print(name, type(model).__name__)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}  # for tests.models
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [line.split()[0] for line in done.stdout.splitlines()] == names


def test_zoo_load_model_points_a_run_directory_and_an_export_to_their_loaders(tmp_path):
    # Keras said "File format not supported ... Keras 3 only supports V3 .keras files"
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("{}")
    with pytest.raises(ValueError, match=r"run is a zoo run directory, not a .keras file: zoo.load_run\('.*run'\) "
                                         "returns its model, tokenizer, label names and config"):
        zoo.load_model(tmp_path / "run")
    (tmp_path / "saved" / "1").mkdir(parents=True)
    (tmp_path / "saved" / "1" / "saved_model.pb").write_bytes(b"")
    for path in (tmp_path / "saved", tmp_path / "saved" / "1"):
        with pytest.raises(ValueError, match=rf"{path} is an exported SavedModel, not a .keras file: "
                                             r"zoo.load_predictor\('.*'\) serves it"):
            zoo.load_model(path)


def test_build_takes_the_keras_model_name_as_an_override():
    # build("lm", name="my_lm") failed: "build() got multiple values for argument 'name'", though the error of an
    # unknown argument listed `name` among those the builder accepts.
    for name in ("transformer-tiny", "lm", "mlm", "seq2seq", "cnn", "lstm"):
        assert build(name, **SMALL, name="my_model").name == "my_model"
    with pytest.raises(ValueError, match=r"does not take nme; it accepts: .*\bname\b"):
        build("lm", **SMALL, nme="my_lm")


@pytest.mark.parametrize("name", model_names())
def test_gradients_reach_every_weight(name):
    model = _small(name)
    ids = _ids(real=(12, 12, 12, 12))
    ids = _inputs_of(name, ids)
    assert_all_gradients_flow(lambda: model(ids, training=False), model.trainable_variables)


def test_list_models_reports_names_descriptions_and_parameter_counts():
    infos = {info.name: info for info in list_models()}
    assert {"transformer-tiny", "transformer-small", "transformer-base", "lstm", "cnn", "seq2seq", "lm",
            "mlm"} <= set(infos)
    assert infos["lm"].task == "lm" and infos["cnn"].task == "classification"
    assert infos["transformer-small"].params == build("transformer-small").count_params()
    assert infos["transformer-tiny"].params < infos["transformer-small"].params < infos["transformer-base"].params
    assert all(info.description for info in infos.values())


def test_list_models_counts_parameters_once_per_process(monkeypatch):
    # Every call built all eight models again (~3 s) for counts that cannot change.
    first = list_models()
    monkeypatch.setattr(registry, "build", lambda name, **overrides: pytest.fail(f"{name} was built again"))
    assert list_models() == first


def test_unknown_model_lists_valid_names():
    with pytest.raises(UnknownModelError, match="transformer-small") as info:
        build("transformer-huge")
    assert isinstance(info.value, ValueError)


def test_overrides_reach_the_builder():
    model = build("transformer-tiny", vocab_size=77, num_classes=6, num_layers=3)
    assert model.output.shape[-1] == 6
    assert len(model.backbone.blocks) == 3
    assert model.backbone.token_embedding.vocab_size == 77 and model.vocab_size == 77


def test_mixed_bfloat16_dtypes_and_finite_outputs():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    for model in (_small("transformer-small"), _small("lstm"), _small("cnn")):
        out = model(_ids())
        assert out.dtype == "float32", model.name
        assert np.all(np.isfinite(to_numpy(out)))
        assert all(v.dtype == "float32" for v in model.weights)
    assert build_transformer(**SMALL, d_model=16, num_heads=2).backbone.blocks[0].compute_dtype == "bfloat16"


def test_attention_maps_are_distributions_over_real_tokens():
    model = build_transformer(**SMALL, num_classes=2, num_layers=3, d_model=16, num_heads=2, ff_dim=32)
    ids = _ids()
    maps = attention_maps(model, ids)
    assert len(maps) == 3 and maps[0].shape == (4, 2, 12, 12)
    for probs in maps:
        np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
        assert np.all(probs[3, :, :, 1:] == 0)
    with pytest.raises(ValueError, match="build_transformer"):
        attention_maps(build_lstm_classifier(**SMALL), ids)
    causal = attention_maps(_small("lm"), ids)
    assert len(causal) == 1 and np.all(np.triu(causal[0][0, 0], 1) == 0)


def test_attention_maps_take_segment_ids_as_lists_and_refuse_them_without_segments():
    tiny = dict(**SMALL, num_classes=2, num_layers=1, d_model=16, num_heads=2, ff_dim=32)
    pairs = build_transformer(**tiny, num_segments=2)
    ids, segments = [[5, 6, 7, 8]], [[0, 0, 1, 1]]
    # A list failed inside Keras' Embedding ("Only input tensors may be passed as positional arguments").
    from_list = attention_maps(pairs, ids, segments)
    np.testing.assert_array_equal(from_list[0], attention_maps(pairs, ids, np.array(segments))[0])
    assert not np.allclose(from_list[0], attention_maps(pairs, ids)[0])
    # Segment ids given to a model without segments were silently ignored.
    with pytest.raises(ValueError, match="takes no segment ids"):
        attention_maps(build_transformer(**tiny), ids, segments)


def _presence_task(n, rng):
    """``n`` sequences of 12 tokens from 2..59 without 7; half of them (label 1) get one 7 at a random position."""
    x = rng.choice(np.setdiff1d(np.arange(2, 60), [7]), size=(n, 12)).astype("int32")
    y = rng.permutation(np.arange(n) % 2).astype("int32")
    x[y == 1, rng.integers(0, 12, size=int(y.sum()))] = 7
    return x, y


def _move_the_7(x, rng):
    """The same sequences with each 7 swapped with the token at another random position."""
    moved = x.copy()
    rows, cols = np.nonzero(x == 7)
    targets = (cols + rng.integers(1, 12, size=len(cols))) % 12
    moved[rows, cols], moved[rows, targets] = x[rows, targets], 7
    return moved


@pytest.mark.parametrize("builder", [build_transformer, build_lstm_classifier, build_cnn_classifier])
def test_models_learn_a_token_presence_task(builder):
    """The label is whether token 7 occurs anywhere: no position, length or other token gives it away."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(11)
    x, y = _presence_task(512, rng)
    test_x, test_y = _presence_task(256, rng)
    assert (x == 7).any(1).tolist() == y.astype(bool).tolist() and y.mean() == 0.5
    extra = {"d_model": 32, "num_heads": 2, "ff_dim": 64} if builder is build_transformer else {}
    model = builder(**SMALL, num_classes=2, **extra)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, epochs=4, batch_size=32, verbose=0)

    def accuracy(ids):
        return np.mean(to_numpy(model.predict(ids, verbose=0)).argmax(1) == test_y)

    assert accuracy(test_x) > 0.95  # the majority rate is 0.5
    moved = _move_the_7(test_x, rng)
    assert (moved != test_x).any(1).tolist() == test_y.astype(bool).tolist()
    assert accuracy(moved) > 0.95


@pytest.mark.parametrize("kwargs, argument", [
    ({"vocab_size": 0, "sequence_length": 8}, "vocab_size"),
    ({"vocab_size": 10, "sequence_length": 8, "num_layers": 0}, "num_layers"),
    ({"vocab_size": 10, "sequence_length": 8, "d_model": 30, "num_heads": 4}, "num_heads"),
    ({"vocab_size": 10, "sequence_length": 8, "dropout": 1.0}, "dropout"),
    # a rate Dropout rounds to 0 failed at the first call, naming the inner layer's `rate`
    ({"vocab_size": 10, "sequence_length": 8, "dropout": 0.0001}, r"`dropout` must be 0 or in"),
    ({"vocab_size": 10, "sequence_length": 8, "pooling": "sum"}, "pooling"),
    ({"vocab_size": 10, "sequence_length": 8, "positional": "alibi"}, "positional"),
    ({"vocab_size": 10, "sequence_length": 8, "activation": "tanh"}, "activation"),
    # named as the head names them, they read as the backbone's dropout
    ({"vocab_size": 10, "sequence_length": 8, "head_dropout": 2.0}, r"^`head_dropout` must be a float in \[0, 1\)"),
    ({"vocab_size": 10, "sequence_length": 8, "head_dropout": 0.0001}, r"^`head_dropout` must be 0 or in"),
    ({"vocab_size": 10, "sequence_length": 8, "head_hidden_dim": -1}, r"^`head_hidden_dim` must be a positive"),
])
def test_bad_builder_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        build_transformer(**kwargs)


def test_a_baselines_dropout_rate_that_dropout_rounds_away_names_dropout():
    for name in ("cnn", "lstm"):
        with pytest.raises(ValueError, match=r"`dropout` must be 0 or in"):
            build(name, **{**SMALL, "dropout": 0.0001})


@pytest.mark.parametrize("kwargs, match", [
    # Each failed outside zoo: a TypeError ("'int' object is not iterable"), Keras' "The name "conv_3" is used 2
    # times", and a model that built but failed on every input ("The convolution operation resulted in an empty
    # output").
    ({"filter_sizes": 3}, r"`filter_sizes` must be a non-empty list of convolution widths, e.g. \[3, 4, 5\], got 3"),
    ({"filter_sizes": [3, 3]}, r"`filter_sizes` must not repeat a width, got \[3, 3\]"),
    ({"sequence_length": 4}, r"`sequence_length`=4 is shorter than the widest of `filter_sizes` \[3, 4, 5\]"),
])
def test_cnn_filter_sizes_it_cannot_build_or_run_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build("cnn", **{**SMALL, **kwargs})
