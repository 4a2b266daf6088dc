"""The typed run config: validation with errors naming the key, YAML/JSON round trips, --set overrides."""
import json
import re

import pytest
import yaml

from zoo.config import Config, ConfigError, EarlyStoppingConfig, OptimizerConfig, TrainingConfig, ignored_settings



@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Config tests never touch Keras: skip the shared fixture's clear_session (about a second per test)."""
    yield


CUSTOM = {
    "data": {"source": "trec", "load_options": {"label_level": "fine"}, "tokenizer": "wordpiece",
             "vocab_size": 8000, "sequence_length": 40, "validation_split": 0.2, "test_split": 0.0},
    "model": {"name": "transformer-tiny", "overrides": {"dropout": 0.2, "pooling": "max"}},
    "optimizer": {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9, "nesterov": True, "clipnorm": 1.0},
    "schedule": {"name": "cosine", "warmup_steps": 100, "final_fraction": 0.1},
    "training": {"epochs": 3, "batch_size": 32, "precision": "mixed_bfloat16", "label_smoothing": 0.1,
                 "l2": 1e-4, "early_stopping": {"patience": 2, "monitor": "val_loss"}, "checkpoint_every": 50},
    "distribution": {"strategy": "mirrored", "devices": ["/cpu:0", "/cpu:1"]},
    "output": {"dir": "runs/x", "tensorboard": False, "progress": "epoch"},
}


def test_defaults_are_valid_and_complete():
    config = Config()
    assert config.training.batch_size == 64 and config.distribution.strategy == "default"
    assert set(config.to_dict()) == {"data", "model", "optimizer", "schedule", "training", "distribution", "output"}


def test_missing_keys_take_defaults():
    config = Config.from_dict({"training": {"epochs": 3}})
    assert config.training.epochs == 3
    assert config.training.batch_size == Config().training.batch_size


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip_through_files(tmp_path, suffix):
    config = Config.from_dict(CUSTOM)
    path = config.save(tmp_path / f"run{suffix}")
    assert Config.load(path) == config
    text = path.read_text()
    loaded = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    assert loaded["optimizer"]["nesterov"] is True
    assert loaded["model"]["overrides"] == {"dropout": 0.2, "pooling": "max"}


def test_yaml_scientific_notation_is_a_number(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("optimizer:\n  learning_rate: 3e-4\ntraining:\n  l2: 1e-5\n")
    config = Config.load(path)
    assert config.optimizer.learning_rate == pytest.approx(3e-4) and config.training.l2 == pytest.approx(1e-5)


@pytest.mark.parametrize("mapping, message", [
    ({"trainig": {}}, "unknown key 'trainig' (did you mean 'training'?); allowed: data, model"),
    ({"training": {"batchsize": 3}}, "unknown key 'training.batchsize' (did you mean 'batch_size'?)"),
    ({"training": {"early_stopping": {"patient": 1}}}, "unknown key 'training.early_stopping.patient'"),
    ({"training": {"batch_size": 0}}, "training.batch_size must be > 0, got 0"),
    ({"training": {"epochs": "3"}}, "training.epochs must be an integer, got '3'"),
    ({"training": {"epochs": 2.5}}, "training.epochs must be an integer, got 2.5"),
    # NumPy's "Seed must be between 0 and 2**32 - 1", naming no key, once training had started
    ({"training": {"seed": 2**32}}, "training.seed must be an integer in [0, 2147483647], got 4294967296"),
    ({"training": {"seed": -1}}, "training.seed must be an integer in [0, 2147483647], got -1"),
    ({"training": {"precision": "fp16"}},
     "training.precision must be one of 'float32', 'mixed_bfloat16', 'mixed_float16', 'auto'; got 'fp16'"),
    ({"optimizer": {"name": "adagrad"}}, "optimizer.name must be one of 'sgd', 'adam', 'adamw', 'rmsprop'"),
    ({"optimizer": {"name": "adam", "nesterov": True}}, "optimizer.nesterov applies only to name: sgd"),
    ({"optimizer": {"clipnorm": -1}}, "optimizer.clipnorm must be > 0"),
    ({"optimizer": {"beta_1": 1.0}}, "optimizer.beta_1 must be in [0, 1)"),
    ({"schedule": {"name": "transformer", "warmup_fraction": 0}}, "schedule.name: transformer needs warmup_steps > 0"),
    ({"data": {"validation_split": 0.5, "test_split": 0.5}}, "must leave training data"),
    ({"data": {"sequence_length": "long"}}, "data.sequence_length must be an integer or 'auto'; got 'long'"),
    ({"data": {"sequence_length": 0}}, "data.sequence_length must be > 0, got 0"),
    ({"model": {"overrides": {"num_classes": 3}}}, "model.overrides may not set ['num_classes']"),
    ({"distribution": {"strategy": "tpu"}}, "distribution.strategy must be one of 'default', 'one_device'"),
    ({"distribution": {"devices": [0]}}, "distribution.devices[0] must be a device string"),
    ({"output": {"progress": "loud"}}, "output.progress must be one of"),
    ({"training": 3}, "training must be a mapping, got 3"),
])
def test_bad_values_name_the_key_and_what_is_allowed(mapping, message):
    with pytest.raises(ConfigError) as error:
        Config.from_dict(mapping)
    assert message in str(error.value)


def test_sections_validate_on_creation():
    with pytest.raises(ConfigError, match="training.batch_size must be > 0"):
        TrainingConfig(batch_size=-4)
    with pytest.raises(ConfigError, match="training.early_stopping.monitor must be one of 'val_loss', 'val_accuracy'"):
        EarlyStoppingConfig(monitor="accuracy")
    assert OptimizerConfig(learning_rate=1).learning_rate == 1.0


def test_errors_in_a_file_name_the_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("training:\n  batch_size: -1\n")
    with pytest.raises(ConfigError, match=r"run\.yaml: training\.batch_size must be > 0"):
        Config.load(path)
    path.write_text("training: [1, 2\n")
    with pytest.raises(ConfigError, match=r"run\.yaml: not valid YAML"):
        Config.load(path)
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="the top level must be a mapping of sections"):
        Config.load(path)
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        Config.load(tmp_path / "missing.yaml")


def test_a_key_given_twice_in_a_file_is_an_error_naming_the_file_and_lines(tmp_path):
    # PyYAML and json keep the last of two equal keys: the first section's batch_size was silently dropped.
    path = tmp_path / "run.yaml"
    path.write_text("training:\n  epochs: 3\n  batch_size: 16\ntraining:\n  epochs: 5\n")
    with pytest.raises(ConfigError) as error:
        Config.load(path)
    message = str(error.value)
    assert message.startswith(f"{path}: not valid YAML:")
    assert "found the key 'training' a second time (first at line 1); keep one" in message
    assert f'in "{path}", line 4, column 1' in message
    # The keys a merge key (<<) brings may be replaced: that is not a key given twice.
    path.write_text("model:\n  overrides:\n    <<: {dropout: 0.1, num_heads: 2}\n    dropout: 0.2\n")
    assert Config.load(path).model.overrides == {"pooling": "attention", "dropout": 0.2, "num_heads": 2}
    path = tmp_path / "run.json"
    path.write_text('{"training": {"epochs": 3, "batch_size": 16}, "training": {"epochs": 5}}')
    with pytest.raises(ConfigError, match=rf"^{path}: not valid JSON: the key 'training' appears twice in one object"):
        Config.load(path)


def test_a_config_file_not_in_utf8_is_an_error_naming_the_file_and_line_and_a_bom_is_skipped(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_bytes("training:\n  epochs: 3\ndata:\n  source: café.csv\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=rf"^{path}: line 4: not UTF-8 \(byte 0xe9\); save the file as UTF-8$"):
        Config.load(path)
    path = tmp_path / "run.json"  # Notepad's "UTF-8 with BOM"; YAML already skipped the mark
    path.write_bytes(b'\xef\xbb\xbf{"training": {"epochs": 3}}')
    assert Config.load(path).training.epochs == 3


def test_numbers_with_an_exponent_are_numbers_in_every_yaml_value(tmp_path):
    # YAML 1.1 (PyYAML) reads 5e-2 and 1.0e5 as strings; the typed keys converted them, free mappings did not.
    path = tmp_path / "run.yaml"
    path.write_text("data:\n  tokenizer_options: {learn_params: {slack_ratio: 5e-2}}\noptimizer:\n  epsilon: 1.0e-8\n")
    config = Config.load(path)
    assert config.data.tokenizer_options == {"learn_params": {"slack_ratio": 0.05}}
    assert config.optimizer.epsilon == 1e-8
    assert Config().override(["data.load_options.x=1e3"]).data.load_options == {"x": 1000.0}
    # and a string that reads as such a number is quoted when saved, so it reloads as the string
    text_like_numbers = Config.from_dict({"data": {"source": "1e5", "load_options": {"text_column": "2e3"}}})
    assert Config.load(text_like_numbers.save(tmp_path / "saved.yaml")) == text_like_numbers


def test_overrides_parse_values_as_yaml():
    config = Config().override([
        "training.epochs=5", "optimizer.learning_rate=1e-3", "training.early_stopping.patience=2",
        "model.overrides.dropout=0.3", "model.overrides.pooling=max", "distribution.devices=[/cpu:0, /cpu:1]",
        "output.dir=null", "data.source=trec", "training.jit_compile=true",
    ])
    assert config.training.epochs == 5 and config.optimizer.learning_rate == pytest.approx(1e-3)
    assert config.training.early_stopping.patience == 2
    assert config.model.overrides == {"dropout": 0.3, "pooling": "max"}
    assert config.distribution.devices == ["/cpu:0", "/cpu:1"]
    assert config.output.dir is None and config.data.source == "trec" and config.training.jit_compile is True


def test_model_overrides_merge_into_the_default_from_a_file_as_with_set(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("model: {overrides: {dropout: 0.2}}\n")
    expected = {"pooling": "attention", "dropout": 0.2}  # the default Transformer's pooling stays
    assert Config.load(path).model.overrides == expected
    assert Config.from_dict({"model": {"overrides": {"dropout": 0.2}}}).model.overrides == expected
    assert Config().override(["model.overrides.dropout=0.2"]).model.overrides == expected
    # Models without a pooling argument have no default entry to merge into (zoo pretrain's mlm included).
    lstm = Config.from_dict({"model": {"name": "lstm", "overrides": {"units": 64}}})
    assert lstm.model.overrides == {"units": 64} and Config.from_dict(lstm.to_dict()) == lstm
    assert Config().override(["model.name=mlm"]).model.overrides == {}


def test_numeric_strings_in_model_overrides_are_numbers():
    # PyYAML reads 1e-1 as the string '1e-1', which the model builder would reject.
    config = Config().override(["model.overrides.dropout=1e-1", "model.overrides.activation=relu"])
    assert config.model.overrides == {"pooling": "attention", "dropout": 0.1, "activation": "relu"}
    assert type(config.model.overrides["dropout"]) is float


@pytest.mark.parametrize("key", ["optimizer.learning_rate", "optimizer.weight_decay",
                                 "training.early_stopping.min_delta", "training.divergence_factor"])
@pytest.mark.parametrize("raw", [".nan", ".inf"])
def test_non_finite_numbers_are_rejected_naming_the_key(key, raw, tmp_path):
    shown = "nan" if raw == ".nan" else "inf"
    with pytest.raises(ConfigError, match=rf"^{key} must be a finite number, got {shown}$"):
        Config().override([f"{key}={raw}"])
    section, _, name = key.rpartition(".")
    path = tmp_path / "run.json"
    nested = {}
    node = nested
    for part in section.split("."):
        node = node.setdefault(part, {})
    node[name] = float(shown)
    path.write_text(json.dumps(nested))  # JSON NaN / Infinity
    with pytest.raises(ConfigError, match=rf"run\.json: {key} must be a finite number"):
        Config.load(path)


@pytest.mark.parametrize("overrides, message", [
    ("training.epochs=1", r"e.g. \['training.epochs=1'\]; got the string 'training.epochs=1'$"),
    # A dict iterated gave its keys alone, refused as "--set expects key=value": a CLI flag to a Python caller.
    ({"training.epochs": 1, "output.dir": "runs/a"},
     r"""e.g. \['training.epochs=1', 'output.dir="runs/a"'\]; got a dict$"""),
])
def test_overrides_not_given_as_a_list_are_refused_in_every_api(tmp_path, overrides, message):
    import zoo

    message = r"^overrides must be a list of 'key=value' strings, " + message
    for call in (lambda: Config().override(overrides),
                 lambda: zoo.train(overrides=overrides),
                 lambda: zoo.cross_validate(overrides=overrides, out_dir=tmp_path / "cv"),
                 lambda: zoo.tune(overrides=overrides, tuning={"directory": str(tmp_path / "search")})):
        with pytest.raises(ConfigError, match=message):
            call()
    assert not list(tmp_path.iterdir())


def test_a_data_file_given_as_the_config_is_refused_with_how_to_train_on_it(tmp_path, monkeypatch):
    import zoo

    monkeypatch.chdir(tmp_path)
    # A Windows-1252 dash: read as YAML it failed "not valid YAML: unacceptable character #x0096".
    (tmp_path / "small.csv").write_bytes(b"text,label\na film \x96 fine,pos\n")
    message = (r"^small.csv: not a config file \(a config is .yaml, .yml, .json\); to train on it use --data "
               r"small.csv \(in Python: zoo.train\(\{'data': \{'source': 'small.csv'\}\}\)\)$")
    for call in (lambda: Config.load("small.csv"), lambda: zoo.train("small.csv")):
        with pytest.raises(ConfigError, match=message):
            call()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["small.csv"]


@pytest.mark.parametrize("assignments, message", [
    (["training.epochs=1", "training.epochs=3"],
     "training.epochs is set twice, by --set training.epochs=1 and --set training.epochs=3; give it once"),
    (["model.overrides.dropout=0.2", "model.overrides={dropout: 0.1}"],
     "model.overrides holds model.overrides.dropout, and --set model.overrides.dropout=0.2 and --set "
     "model.overrides={dropout: 0.1} both set it; give one of them (or dropout inside model.overrides's value)"),
])
def test_a_key_set_twice_is_refused_naming_both_values(assignments, message, tmp_path):
    # The last value won silently: training.epochs=1 then =3 trained 3 epochs.
    import zoo

    for call in (lambda: Config().override(assignments), lambda: zoo.train(overrides=assignments),
                 lambda: zoo.tune(overrides=assignments, tuning={"directory": str(tmp_path / "search")})):
        with pytest.raises(ConfigError) as error:
            call()
        assert str(error.value) == message
    assert not list(tmp_path.iterdir())
    # Keys side by side, or sharing a prefix short of a dot, are no repeat.
    assert Config().override(["model.overrides.num_layers=1", "model.overrides.num_layers_x=2"]).model.overrides[
        "num_layers_x"] == 2


def test_override_returns_a_new_config():
    base = Config()
    changed = base.override(["training.epochs=1"])
    assert base.training.epochs == Config().training.epochs != 1 and changed.training.epochs == 1


@pytest.mark.parametrize("assignment, message", [
    ("training.epoch=3", "unknown key 'training.epoch' (did you mean 'epochs'?)"),
    ("trainer.epochs=3", "unknown key 'trainer'"),
    ("training.epochs", "--set expects key=value"),
    ("=3", "--set expects key=value"),
    ("training.epochs=three", "training.epochs must be an integer, got 'three'"),
    ("training.epochs.x=1", "training.epochs is not a section"),
    ("optimizer.clipnorm.x=1", "cannot set optimizer.clipnorm.x: optimizer.clipnorm is not a section"),
    ("training.epochs.x.y=1", "cannot set training.epochs.x.y: training.epochs is not a section"),
    ("training.precision=half", "training.precision must be one of"),
])
def test_bad_overrides_name_the_key(assignment, message):
    with pytest.raises(ConfigError) as error:
        Config().override([assignment])
    assert message in str(error.value)


def test_set_reaches_keys_inside_an_entry_of_a_mapping_field():
    config = Config().override(["data.tokenizer_options.learn_params.slack_ratio=0.1",
                                "data.tokenizer_options.learn_params.num_iterations=2"])
    assert config.data.tokenizer_options == {"learn_params": {"slack_ratio": 0.1, "num_iterations": 2}}
    assert config.given() == {"data": {"tokenizer_options": config.data.tokenizer_options}}


@pytest.mark.parametrize("assignment, expected", [
    ("output.dir=2024", "2024"), ("data.source=01", "01"), ("data.source=true", "true"), ("data.source=#1", "#1"),
    ("data.source='a b'", "a b"), ("output.dir=null", None), ("model.init_from=1e-3", "1e-3"),
])
def test_text_keys_take_the_text_as_typed(assignment, expected):
    # --set output.dir=2024 was 'output.dir must be a string, got 2024 (int)', data.source=01 the number 1.
    key, _, _ = assignment.partition("=")
    section, name = key.split(".")
    assert getattr(getattr(Config().override([assignment]), section), name) == expected


def test_a_leading_tilde_in_a_path_key_is_the_home_folder(checkpoint_folder, tmp_path, monkeypatch):
    # A config file or --set key=~/... reaches zoo unexpanded: output.dir made a folder named "~" in the current
    # directory, and model.init_from=~/checkpoint took the from-scratch recipe, then was "not found".
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "minilm").symlink_to(checkpoint_folder)
    config = Config().override(["output.dir=~/runs/mr", "model.init_from=~/minilm"])
    assert config.output.dir == f"{tmp_path}/runs/mr" and config.model.init_from == f"{tmp_path}/minilm"
    assert config.recipe == "fine_tune" and config.training.batch_size == 32


def test_sequence_length_is_auto_by_default_and_takes_an_integer():
    assert Config().data.sequence_length == "auto"
    assert Config().override(["data.sequence_length=96"]).data.sequence_length == 96
    assert Config.from_dict({"data": {"sequence_length": 64}}).override(
        ["data.sequence_length=auto"]).data.sequence_length == "auto"


# The fine-tuning recipe: its defaults apply to the keys the user did not give.

def test_a_pretrained_checkpoint_switches_the_defaults_to_the_fine_tuning_recipe(checkpoint_folder, tmp_path):
    from zoo.config import FINE_TUNING_DEFAULTS

    config = Config.from_dict({"model": {"init_from": checkpoint_folder}})
    assert config.recipe == "fine_tune"
    assert (config.optimizer.name, config.optimizer.learning_rate, config.optimizer.clipnorm) == ("adamw", 5e-5, 1.0)
    assert config.optimizer.weight_decay == 0.01 and config.optimizer.weight_decay_embeddings is False
    assert (config.schedule.name, config.schedule.warmup_fraction, config.schedule.final_fraction) == ("linear", 0.1, 0)
    assert (config.training.epochs, config.training.batch_size, config.training.label_smoothing) == (3, 32, 0.0)
    assert config.data.sequence_length == 128 and config.model.overrides == {}
    assert config.training.early_stopping.restore_best_weights is True
    assert set(config.recipe_defaults()) == {f"{s}.{k}" for s, v in FINE_TUNING_DEFAULTS.items() for k in v
                                             if k != "early_stopping"} | {
        "training.early_stopping.monitor", "training.early_stopping.restore_best_weights"}
    # A zoo run directory (config.yaml, no config.json) keeps the from-scratch defaults.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("{}\n")
    scratch = Config.from_dict({"model": {"init_from": str(run_dir)}})
    assert scratch.recipe == "scratch" and scratch.optimizer.learning_rate == Config().optimizer.learning_rate


def test_explicit_values_win_over_the_recipe_even_when_equal_to_the_scratch_default(checkpoint_folder):
    scratch_epochs = Config().training.epochs
    config = Config.from_dict({"training": {"epochs": scratch_epochs}, "optimizer": {"learning_rate": 2e-5},
                               "model": {"init_from": checkpoint_folder, "overrides": {"dropout": 0.2}}})
    assert config.training.epochs == scratch_epochs and config.optimizer.learning_rate == 2e-5
    assert config.model.overrides == {"dropout": 0.2} and config.training.batch_size == 32
    assert "training.epochs" not in config.recipe_defaults() and "training.batch_size" in config.recipe_defaults()
    # Set later on the command line: the earlier explicit keys stay, the rest switch.
    later = Config().override([f"training.epochs={scratch_epochs}"]).override(
        [f"model.init_from={checkpoint_folder}", "model.overrides.dropout=0.3"])
    assert later.training.epochs == scratch_epochs and later.training.batch_size == 32
    assert later.model.overrides == {"dropout": 0.3}
    # The saved config (every key) reloads to the same values; a forced scratch recipe keeps scratch defaults.
    assert Config.from_dict(later.to_dict()) == later
    forced = Config.from_dict({"model": {"init_from": checkpoint_folder}, "training": {"recipe": "scratch"}})
    assert forced.recipe == "scratch" and forced.training.batch_size == Config().training.batch_size


def test_a_config_built_with_constructors_takes_the_recipe_in_as_config(checkpoint_folder):
    from zoo.config import ModelConfig, TrainingConfig
    from zoo.training import as_config

    direct = Config(model=ModelConfig(init_from=checkpoint_folder), training=TrainingConfig(epochs=5))
    assert direct.given() == {"model": {"init_from": checkpoint_folder}, "training": {"epochs": 5}}
    resolved = as_config(direct)
    assert resolved.training.epochs == 5 and resolved.training.batch_size == 32


def test_cli_data_and_output_count_as_given(checkpoint_folder):
    from zoo.cli import _config, build_parser

    args = build_parser().parse_args(["train", "--data", "trec", "--output", "runs/x", "--set",
                                      f"model.init_from={checkpoint_folder}"])
    config = _config(args, "train")
    assert (config.data.source, config.output.dir, config.recipe) == ("trec", "runs/x", "fine_tune")
    assert config.training.batch_size == 32


@pytest.mark.parametrize("mapping, message", [
    ({"optimizer": {"layer_decay": 0}}, "optimizer.layer_decay must be in (0, 1]"),
    ({"optimizer": {"layer_decay": 1.2}}, "optimizer.layer_decay must be in (0, 1]"),
    ({"model": {"freeze_blocks": 2}}, "model.freeze_blocks: 2 needs model.init_from"),
    ({"model": {"freeze_blocks": -1, "init_from": "x"}}, "model.freeze_blocks must be >= 0"),
    ({"model": {"freeze_blocks": 1, "freeze": "encoder", "init_from": "x"}}, "already freezes every block"),
    ({"training": {"recipe": "bert"}}, "training.recipe must be one of 'auto', 'scratch', 'fine_tune'"),
])
def test_bad_recipe_values_name_the_key(mapping, message):
    with pytest.raises(ConfigError) as error:
        Config.from_dict(mapping)
    assert message in str(error.value)


def test_other_packages_use_only_the_public_names_of_zoo_config():
    # zoo.tuning built its section from zoo.config's private _build and _Section; a private name may change
    # without notice, so a package needing one gets a public one (zoo.config.Section, to_number, Config.update).
    import ast
    from pathlib import Path

    import zoo

    private = []
    for path in Path(zoo.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "zoo.config":
                private += [f"{path.name}: {alias.name}" for alias in node.names if alias.name.startswith("_")]
    assert private == []


def test_a_section_builds_from_plain_data_naming_its_keys():
    from zoo.config import EarlyStoppingConfig, Section

    assert issubclass(EarlyStoppingConfig, Section)
    assert EarlyStoppingConfig.from_dict({"patience": 2}).to_dict() == {
        "patience": 2, "monitor": "val_accuracy", "min_delta": 0.0, "restore_best_weights": True}
    with pytest.raises(ConfigError, match="^run.yaml: training.early_stopping.patience must be an integer"):
        EarlyStoppingConfig.from_dict({"patience": "2x"}, where="run.yaml")


def test_a_search_file_given_to_a_run_names_its_tuning_section(tmp_path):
    # A tuning config is a run config with one more section; the unknown-key message said "did you mean
    # 'training'?".
    path = tmp_path / "search.yaml"
    path.write_text("data: {source: trec}\ntuning: {max_trials: 4}\n")
    with pytest.raises(ConfigError, match=f"^{path}: tuning is the search section that zoo tune reads, not a run's; "
                                          "train with a copy of the file without it, or search with zoo tune "
                                          "--config$"):
        Config.load(path)


@pytest.mark.parametrize("given, ignored", [
    ({"optimizer": {"momentum": 0.9}}, ["optimizer.momentum"]),
    ({"optimizer": {"name": "sgd", "beta_1": 0.8, "beta_2": 0.98, "epsilon": 1e-6}},
     ["optimizer.beta_1", "optimizer.beta_2", "optimizer.epsilon"]),
    ({"schedule": {"name": "constant", "final_fraction": 0.5}}, ["schedule.final_fraction"]),
    # A default strategy trained on one device and said nothing of the cluster settings.
    ({"distribution": {"embedding_shards": 4, "cluster_resolver": "slurm"}},
     ["distribution.embedding_shards", "distribution.cluster_resolver"]),
    ({"distribution": {"strategy": "parameter_server", "embedding_shards": 4, "cluster_resolver": "slurm"}}, []),
    ({"model": {"freeze": "encoder", "init_from": "runs/pretrained"}, "optimizer": {"layer_decay": 0.8}},
     ["optimizer.layer_decay"]),
    ({"data": {"validation_source": "dev.csv", "validation_split": 0.2}}, ["data.validation_split"]),
    ({"data": {"validation_source": "dev.csv"}}, []),
    ({"data": {"test_source": "test.csv", "test_split": 0.2}}, ["data.test_split"]),
    ({"data": {"test_source": "test.csv", "test_split": 0.1}}, []),
    # Defaults (a saved run's full config holds them all) and the settings the other key uses are not ignored.
    ({"optimizer": {"name": "sgd", "momentum": 0.9}, "schedule": {"warmup_steps": 10}}, []),
    (Config.from_dict({"optimizer": {"name": "sgd"}, "schedule": {"name": "constant"}}).to_dict(), []),
    ({"model": {"init_from": "runs/pretrained"}, "schedule": {"warmup_steps": 10}}, []),
])
def test_settings_another_key_makes_training_ignore_are_found_away_from_their_defaults(given, ignored):
    assert [key for key, *_ in ignored_settings(Config.from_dict(given))] == ignored


def test_a_comma_separated_string_for_a_list_key_shows_the_list_it_meant():
    with pytest.raises(ConfigError, match=re.escape(
            "distribution.devices must be a list, got '/cpu:0,/cpu:1' (str); write a list in brackets, e.g. "
            '--set "distribution.devices=[/cpu:0,/cpu:1]"')):
        Config.from_dict({"distribution": {"devices": "/cpu:0,/cpu:1"}})
