"""The tuning section and the search space: parsing, validation, constraints, defaults (no training)."""
import dataclasses
import os

import keras_tuner
import numpy as np
import pytest

import zoo.models
from zoo.config import Config, ConfigError, ignored_settings
from zoo.tuning.hypermodel import trial_config
from zoo.tuning.search import search_space, tune, tuner_process
from zoo.tuning.settings import TuningConfig, load_search
from zoo.tuning.space import D_MODEL, HEAD_DIM, NUM_HEADS, SearchSpace, default_space

BASE = Config.from_dict({"model": {"name": "transformer-tiny"}, "optimizer": {"learning_rate": 1e-3},
                         "training": {"batch_size": 64}})


def test_choices_and_ranges_become_keras_tuner_hyperparameters():
    # The parsing only: test_builder_arguments_the_model_takes_are_accepted builds models with such values.
    space = SearchSpace.from_mapping({
        "model.overrides.num_layers": {"min": 1, "max": 4},
        "model.overrides.pooling": ["mean", "max"],
        "model.overrides.dropout": {"min": 0.0, "max": 0.3, "step": 0.1},
        "optimizer.learning_rate": {"min": "1e-4", "max": "1e-2", "sampling": "log"},  # PyYAML's strings
        "training.batch_size": {"choice": [16, 32, 64], "default": 32},
    }, BASE, check_builder=False)
    hp = keras_tuner.HyperParameters()
    values = space.declare(hp)
    kinds = {p.name: type(p).__name__ for p in hp.space}
    assert kinds == {"model.overrides.num_layers": "Int", "model.overrides.pooling": "Choice",
                     "model.overrides.dropout": "Choice", "optimizer.learning_rate": "Float",
                     "training.batch_size": "Choice"}
    lr = next(p for p in hp.space if p.name == "optimizer.learning_rate")
    assert (lr.min_value, lr.max_value, lr.sampling) == (1e-4, 1e-2, "log")
    assert space.candidates("model.overrides.num_layers") == [1, 2, 3, 4]
    # The declared maximum is on the grid (keras-tuner's own float grid drops it: 0.3 // 0.1 == 2.0).
    assert space.candidates("model.overrides.dropout") == [0.0, 0.1, 0.2, 0.3]
    assert space.to_dict()["model.overrides.dropout"] == {"min": 0.0, "max": 0.3, "step": 0.1}
    assert space.candidates("optimizer.learning_rate") is None
    # Defaults: the declared one, else the base config's value when the space holds it, else the first/min.
    assert values["training.batch_size"] == 32
    assert values["optimizer.learning_rate"] == 1e-3
    assert values["model.overrides.num_layers"] == 2  # transformer-tiny's registry depth
    assert values["model.overrides.pooling"] == "mean"


def test_apply_sets_each_value_in_a_validated_config():
    # The values only: test_builder_arguments_the_model_takes_are_accepted builds models with such dropouts.
    space = SearchSpace.from_mapping({"optimizer.name": ["adam", "sgd"], "model.overrides.dropout": [0.0, 0.2],
                                      "schedule.name": ["constant", "cosine"]}, BASE, check_builder=False)
    config = space.apply(BASE, {"optimizer.name": "sgd", "model.overrides.dropout": 0.2, "schedule.name": "cosine",
                                "tuner/epochs": 4})
    assert (config.optimizer.name, config.model.overrides, config.schedule.name) == (
        "sgd", {**BASE.model.overrides, "dropout": 0.2}, "cosine")
    assert config.training == BASE.training and config.data == BASE.data
    assert SearchSpace.from_mapping(space.to_dict(), BASE, check_builder=False).to_dict() == space.to_dict()


def test_head_dim_makes_every_sampled_width_divisible_by_its_heads():
    base = Config.from_dict({"model": {"name": "transformer-small"}})
    space = default_space(base)
    assert HEAD_DIM in space and D_MODEL not in space
    hp = keras_tuner.HyperParameters()
    space.declare(hp)
    seen = set()
    for seed in range(200):
        values = {p.name: p.random_sample(seed * len(hp.space) + i) for i, p in enumerate(hp.space)}
        config = space.apply(base, values)
        heads, width = config.model.overrides["num_heads"], config.model.overrides["d_model"]
        assert width == values[HEAD_DIM] * values[NUM_HEADS] and width % heads == 0
        seen.add((width, heads))
    assert len(seen) == 6  # every head count with every head width
    widest = space.apply(base, {NUM_HEADS: 8, HEAD_DIM: 32})
    model = zoo.models.build(widest.model.name, vocab_size=50, sequence_length=8, num_classes=3,
                             **widest.model.overrides)
    assert model(np.ones((2, 8), "int32")).shape == (2, 3)


@pytest.mark.parametrize("mapping, bad", [
    ({D_MODEL: [36, 64], NUM_HEADS: [4, 8]}, "d_model 36 with num_heads 8"),
    ({NUM_HEADS: [2, 3]}, "d_model 64 with num_heads 3"),  # transformer-tiny's width is 64
    ({D_MODEL: {"min": 60, "max": 64}, NUM_HEADS: [4]}, "d_model 61 with num_heads 4"),
])
def test_heads_that_do_not_divide_a_width_are_rejected_before_any_build(mapping, bad):
    with pytest.raises(ConfigError, match=bad) as error:
        SearchSpace.from_mapping(mapping, BASE)
    assert HEAD_DIM in str(error.value)


def test_compatible_heads_and_widths_are_accepted_and_head_dim_excludes_d_model():
    SearchSpace.from_mapping({D_MODEL: [64, 128], NUM_HEADS: [2, 4, 8]}, BASE)
    with pytest.raises(ConfigError, match="either model.overrides.head_dim or model.overrides.d_model"):
        SearchSpace.from_mapping({D_MODEL: [64], HEAD_DIM: [8]}, BASE)
    with pytest.raises(ConfigError, match="tuning.space.model.overrides.head_dim: must take positive integers"):
        SearchSpace.from_mapping({HEAD_DIM: {"min": 4.0, "max": 8.0}}, BASE)
    with pytest.raises(ConfigError, match="model 'lstm' has no num_heads"):
        SearchSpace.from_mapping({HEAD_DIM: [8]}, Config.from_dict({"model": {"name": "lstm"}}))


@pytest.mark.parametrize("key", ["data.vocab_size", "distribution.strategy", "output.dir",
                                 "training.seed", "training.early_stopping.patience",
                                 "model.overrides.vocab_size"])
def test_keys_a_search_may_not_vary_are_rejected(key):
    with pytest.raises(ConfigError, match=f"tuning.space.{key}: "):
        SearchSpace.from_mapping({key: [1, 2]}, BASE)


def test_the_starting_point_is_not_searched(checkpoint_folder, tmp_path):
    # Trials of a second checkpoint trained on the token ids of the first's tokenizer (a cased one read 'Film'
    # as [UNK] where they gave it the uncased id of 'film').
    with pytest.raises(ConfigError, match="^tuning.space.model.init_from: model.init_from cannot be searched: the "
                                          "data is tokenized once per search, with the starting point's tokenizer"):
        SearchSpace.from_mapping({"model.init_from": [checkpoint_folder, str(tmp_path)]}, BASE)


def test_the_recipe_is_not_searched():
    # Trials of either recipe were the same config; as a given key it would change data.sequence_length too.
    with pytest.raises(ConfigError, match=r"^tuning.space.training.recipe: training.recipe cannot be searched: it "
                                          r"picks the defaults of data keys too \(data.sequence_length\)"):
        SearchSpace.from_mapping({"training.recipe": ["scratch", "fine_tune"]}, BASE)


@pytest.mark.parametrize("key, spec, message", [
    ("optimizer.learning_rat", [1e-3], "did you mean 'learning_rate'"),
    ("optimizer.name", ["adam", "adagrad"], "'adagrad' is not a valid value"),
    ("schedule.name", ["constant", "step"], "'step' is not a valid value"),
    ("training.batch_size", [16, 0], "0 is not a valid value.*batch_size must be > 0"),
    ("model.name", ["transformer-tiny", "lm"], "'lm' is an lm model"),
    ("model.name", ["transformer-tiny", "gpt9"], "unknown model 'gpt9'"),
    ("model.overrides.dropout", 0.1, "give a list of choices or a range"),
    ("model.overrides.dropout", [], "choice must be a non-empty list"),
    ("model.overrides.dropout", [0.1, "high"], "must share one type"),
    ("model.overrides.dropout", [0.1, 0.1], "repeat a value"),
    ("model.overrides.dropout", {"min": 0.3, "max": 0.1}, "min must be smaller than max"),
    ("model.overrides.dropout", {"min": None, "max": 0.3}, "a range needs both min and max as numbers"),
    ("model.overrides.dropout", {"min": 0.0, "max": 0.3, "sampling": "log"}, "sampling log needs min > 0"),
    ("model.overrides.ff_dim", {"min": 16, "max": 64, "step": 1, "sampling": "log"}, "step multiplies"),
    ("model.overrides.dropout", {"min": 0.0, "max": 0.3, "sampling": "cubic"}, "sampling must be one of"),
    ("model.overrides.dropout", {"min": 0.0, "max": 0.3, "scale": 2}, r"unknown field\(s\) \['scale'\]"),
    ("model.overrides.dropout", {"choice": [0.1, 0.2], "default": 0.5}, "default 0.5 is not one of"),
    ("model.overrides.dropout", {"min": 0.0}, "give either choice"),
])
def test_bad_declarations_name_the_key(key, spec, message):
    with pytest.raises(ConfigError, match=f"tuning.space.{key}: .*{message}"):
        SearchSpace.from_mapping({key: spec}, BASE)


def test_the_classification_mode_is_not_searched():
    # Labels are read once per search, in the base config's mode: a multilabel trial on them failed in a reshape.
    with pytest.raises(ConfigError, match="tuning.space.model.overrides.mode: cannot be searched: the mode decides "
                                          "how labels are read"):
        SearchSpace.from_mapping({"model.overrides.mode": ["multiclass", "multilabel"]}, BASE)


@pytest.mark.parametrize("key, spec, message", [
    # A float range over an integer argument: every draw but the default would fail its trial.
    ("model.overrides.num_layers", {"min": 1, "max": 2.5}, "`num_layers` must be a positive integer, got 1.0"),
    ("model.overrides.num_layers", [1.0, 2.0], "`num_layers` must be a positive integer"),
    ("model.overrides.dropout", [0.1, 1.5], "1.5 is not a valid value: `dropout` must be a float in"),
    ("model.overrides.pooling", ["mean", "maxx"], "'maxx' is not a valid value: `pooling` must be one of"),
    ("model.overrides.num_layer", [1, 2], "does not take num_layer"),
])
def test_builder_arguments_the_model_rejects_fail_before_any_trial(key, spec, message):
    # Named as tuning.space.<key>, or in the first trial's model when the bad value is the one it is built with.
    with pytest.raises(ConfigError, match=f"tuning.space.*{key}.*{message}"):
        SearchSpace.from_mapping({key: spec}, BASE)


def test_builder_arguments_the_model_takes_are_accepted():
    # Once, not per rejected value above: each check builds the first trial's model with every searched value.
    SearchSpace.from_mapping({"model.overrides.num_layers": {"min": 1, "max": 3},
                              "model.overrides.pooling": ["mean", "max"]}, BASE)
    # Checked on the first trial's model: 3 heads divide its width, 3 x head_dim, not the base model's 64.
    SearchSpace.from_mapping({HEAD_DIM: [8, 16], "model.overrides.dropout": [0.1, 0.2]},
                             Config.from_dict({"model": {"name": "transformer-tiny", "overrides": {"num_heads": 3}}}))


def test_default_spaces_cover_the_registry_classifiers():
    for name, expected in [("transformer-base", {HEAD_DIM, NUM_HEADS, "optimizer.learning_rate"}),
                           ("lstm", {"model.overrides.units", "model.overrides.embedding_dim"}),
                           ("cnn", {"model.overrides.num_filters", "training.batch_size"})]:
        space = SearchSpace.for_config({}, Config.from_dict({"model": {"name": name}}))
        assert expected <= set(space.keys), name
    with pytest.raises(ConfigError, match="'lm' is an lm model"):
        SearchSpace.for_config({}, Config.from_dict({"model": {"name": "lm"}}))
    with pytest.raises(ConfigError, match="tuning.space is empty"):
        SearchSpace.from_mapping({}, BASE)


def test_the_default_space_leaves_out_what_the_config_sets_and_says_so(checkpoint_folder):
    base, settings = load_search({"model": {"overrides": {"num_layers": 1, "d_model": 64}},
                                  "optimizer": {"learning_rate": 5e-3}, "training": {"batch_size": 64}})
    space = search_space(base, settings)
    # d_model fixes head_dim x num_heads, so head_dim goes too; batch size 64 is the default, so it is searched.
    assert space.keys == [NUM_HEADS, "model.overrides.ff_dim", "model.overrides.dropout", "model.overrides.pooling",
                          "schedule.name", "training.batch_size"]
    assert space.fixed == {"model.overrides.num_layers": 1, HEAD_DIM: "d_model 64", "optimizer.learning_rate": 5e-3}
    assert all(space.apply(base, {}).model.overrides[key] == value for key, value in (("num_layers", 1),
                                                                                         ("d_model", 64)))
    # The fine-tuning space: the recipe's defaults (5e-5, 3 epochs) are searched, a rate the config sets is not.
    base, settings = load_search({"model": {"init_from": checkpoint_folder}, "optimizer": {"learning_rate": 5e-5},
                                  "training": {"epochs": 2}})
    assert (search_space(base, settings).keys, search_space(base, settings).fixed) == (
        ["optimizer.learning_rate", "schedule.warmup_fraction", "optimizer.layer_decay"], {"training.epochs": 2})
    base, settings = load_search({"model": {"name": "lstm", "overrides": {"embedding_dim": 32, "units": 16,
                                                                          "dropout": 0.2}},
                                  "optimizer": {"learning_rate": 1e-2}, "training": {"batch_size": 16}})
    with pytest.raises(ConfigError, match=r"^tuning.space: the default space of lstm searches "
                                          r"model.overrides.embedding_dim, model.overrides.units, "
                                          r"model.overrides.dropout, optimizer.learning_rate, training.batch_size, "
                                          r"and the config sets each of them; declare tuning.space to search "
                                          r"them \(or others\)$"):
        search_space(base, settings)
    assert SearchSpace.from_mapping({"model.overrides.units": [16, 32]}, base).fixed == {}


def test_tuning_section_is_validated_and_names_its_keys():
    settings = TuningConfig()
    assert (settings.tuner, settings.max_trials, settings.objective, settings.patience) == ("random", 10,
                                                                                           "val_accuracy", 3)
    assert settings.trial_epochs(BASE) == BASE.training.epochs and settings.trial_seed(BASE) == BASE.training.seed
    for mapping, message in [({"max_trials": 0}, "tuning.max_trials must be >= 1"),
                             ({"tuner": "grid"}, "tuning.tuner must be one of"),
                             ({"objective": "accuracy"}, "tuning.objective must be one of"),
                             ({"hyperband_factor": 1}, "tuning.hyperband_factor must be >= 2"),
                             ({"seed": 2**32}, r"tuning.seed must be an integer in \[0, 2147483647\], got 4294967296"),
                             # Another tuner's option would be ignored.
                             ({"tuner": "random", "initial_points": 5},
                              "tuning.initial_points: only the bayesian tuner takes it, and tuning.tuner is "
                              "'random'"),
                             ({"tuner": "bayesian", "hyperband_factor": 2},
                              "tuning.hyperband_factor: only the hyperband tuner takes it"),
                             ({"max_trial": 3}, "did you mean 'max_trials'")]:
        with pytest.raises(ConfigError, match=message):
            TuningConfig.from_dict(mapping)
    assert TuningConfig.from_dict(settings.to_dict()) == settings


def test_load_search_splits_the_tuning_section_off_a_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("data: {source: trec}\n"
                    "tuning:\n  tuner: hyperband\n  max_trials: 4\n"
                    "  space: {optimizer.learning_rate: {min: 1.0e-4, max: 1.0e-2, sampling: log}}\n")
    base, settings = load_search(path, tuning={"max_trials": 6}, overrides=[
        "training.epochs=3", "tuning.patience=1", "tuning.space.model.overrides.num_layers=[1, 2]"])
    assert base.data.source == "trec" and base.training.epochs == 3
    assert (settings.tuner, settings.max_trials, settings.patience) == ("hyperband", 6, 1)
    assert settings.space == {"optimizer.learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "log"},
                              "model.overrides.num_layers": [1, 2]}
    with pytest.raises(ConfigError, match="unknown key 'tuning.trials'"):
        load_search(path, overrides=["tuning.trials=3"])
    path.write_text("tuning: [random]\n")
    with pytest.raises(ConfigError, match=f"{path}: tuning must be a mapping"):
        load_search(path)
    path.write_text("tuning: {space: [1]}\n")
    with pytest.raises(ConfigError, match=r"tuning.space must be a mapping, got \[1\] \(list\); "
                                          "tuning.space.training.batch_size adds one entry to it"):
        load_search(path, overrides=["tuning.space.training.batch_size=[8]"])
    path.write_text("tuning: {max_trials: -1}\n")
    with pytest.raises(ConfigError, match=f"{path}: tuning.max_trials must be >= 1"):
        load_search(path)


def test_the_tuning_section_is_read_as_the_rest_of_the_config_file(tmp_path):
    # It had a reader of its own: a second tuning section silently replaced the first, 1e-5 was the string
    # '1e-5' (refused as not a number), a Latin-1 file a bare UnicodeDecodeError naming no file.
    path = tmp_path / "run.yaml"
    path.write_text("tuning:\n  max_trials: 3\ntuning:\n  tuner: bayesian\n")
    with pytest.raises(ConfigError, match=r"found the key 'tuning' a second time \(first at line 1\); keep one"):
        load_search(path)
    path.write_text("tuning:\n  space: {optimizer.learning_rate: {min: 1e-5, max: 1e-3, sampling: log}}\n")
    assert load_search(path)[1].space == {"optimizer.learning_rate": {"min": 1e-5, "max": 1e-3, "sampling": "log"}}
    assert load_search(path, overrides=["tuning.space.optimizer.weight_decay=[1e-2, 0]"])[1].space[
        "optimizer.weight_decay"] == [0.01, 0]
    path.write_bytes("data: {source: café.csv}\ntuning: {max_trials: 3}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=rf"^{path}: line 1: not UTF-8 \(byte 0xe9\); save the file as UTF-8$"):
        load_search(path)


def test_a_tuning_config_object_may_not_drop_the_files_tuning_keys(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("tuning: {tuner: bayesian, max_trials: 4, space: {model.overrides.num_layers: [1, 2]}}\n")
    with pytest.raises(ConfigError, match=f"{path}: tuning= is a TuningConfig, a whole section, and would replace "
                                          "the config's tuning.tuner: 'bayesian' -> 'random'; tuning.max_trials: 4 "
                                          r"-> 3; tuning.space: .*; pass a dict of the keys to change instead"):
        load_search(path, tuning=TuningConfig(max_trials=3))
    _, settings = load_search(path, tuning={"max_trials": 3})
    assert (settings.tuner, settings.max_trials, settings.space) == ("bayesian", 3, {"model.overrides.num_layers":
                                                                                     [1, 2]})
    _, settings = load_search(path, tuning=load_search(path)[1])  # the same values replace nothing
    assert (settings.tuner, settings.max_trials) == ("bayesian", 4)


def test_a_given_early_stopping_that_trials_would_not_follow_is_rejected(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("training: {early_stopping: {patience: 5, monitor: val_loss}}\n")
    with pytest.raises(ConfigError, match=f"{path}: training.early_stopping.patience: 5; "
                                          "training.early_stopping.monitor: 'val_loss' would be ignored: trials "
                                          r"stop early after tuning.patience \(3\) .*; set tuning.patience: 5 "
                                          r"and tuning.objective: val_loss \(--set tuning.patience=5 --set "
                                          r"tuning.objective=val_loss\) instead$"):
        load_search(path)
    with pytest.raises(ConfigError, match=r"training.early_stopping.min_delta: 0.1 would be ignored: .*; remove "
                                          r"training.early_stopping.min_delta \(trials use 0.0\)$"):
        load_search(None, overrides=["training.early_stopping.min_delta=0.1"])
    # The same stopping, given in both sections, is followed.
    base, settings = load_search(path, overrides=["tuning.patience=5", "tuning.objective=val_loss"])
    space = SearchSpace.from_mapping({"model.overrides.num_layers": [1]}, base)
    config = trial_config(base, settings, space, {"model.overrides.num_layers": 1})
    assert dataclasses.asdict(config.training.early_stopping) == {
        "patience": 5, "monitor": "val_loss", "min_delta": 0.0, "restore_best_weights": True}


def test_a_saved_runs_full_config_is_searched_with_the_tuning_sections_early_stopping(tmp_path):
    # A run's config.yaml holds every key, training.early_stopping's defaults (patience 0) included.
    path = Config.from_dict({"data": {"source": "trec"}, "training": {"epochs": 4}}).save(tmp_path / "config.yaml")
    base, settings = load_search(path, overrides=["tuning.patience=2"])
    space = SearchSpace.from_mapping({"model.overrides.num_layers": [1]}, base)
    config = trial_config(base, settings, space, {"model.overrides.num_layers": 1})
    assert (config.training.epochs, config.training.early_stopping.patience) == (4, 2)
    # An empty section is YAML's null: the defaults, as for any run.
    for mapping in ({"training": None}, {"training": {"early_stopping": None}}):
        assert load_search(mapping)[1].patience == 3


def test_a_searched_model_name_takes_that_models_default_overrides():
    base, settings = load_search({"tuning": {"space": {"model.name": ["transformer-tiny", "lstm", "cnn"]}}})
    space = search_space(base, settings)
    # transformer-tiny's default {pooling: attention} failed every lstm and cnn trial: they take no pooling.
    assert space.apply(base, {"model.name": "lstm"}).model.overrides == {}
    assert space.apply(base, {"model.name": "cnn"}).model.overrides == {}
    assert space.apply(base, {"model.name": "transformer-tiny"}).model.overrides == {"pooling": "attention"}
    # Overrides the config gives go with every model.
    base, _ = load_search({"model": {"overrides": {"dropout": 0.3}}})
    assert space.apply(base, {"model.name": "lstm"}).model.overrides == {"dropout": 0.3}


def test_a_searched_key_every_trial_ignores_is_rejected_and_left_out_of_the_default_space(checkpoint_folder):
    # build_schedule takes schedule.warmup_steps > 0 over the fraction: the trials differed in name only.
    base, settings = load_search({"model": {"init_from": checkpoint_folder}, "schedule": {"warmup_steps": 30}})
    assert search_space(base, settings).keys == ["optimizer.learning_rate", "training.epochs",
                                                 "optimizer.layer_decay"]
    with pytest.raises(ConfigError, match=r"^tuning.space.schedule.warmup_fraction: every trial would ignore it: "
                                          r"schedule.warmup_steps is one of \[10, 30\], and a warm-up of "
                                          r"warmup_steps > 0 replaces the fraction; remove it from the space, or set "
                                          r"\(or search\) schedule.warmup_steps so that it applies$"):
        SearchSpace.from_mapping({"schedule.warmup_fraction": [0.0, 0.1], "schedule.warmup_steps": [10, 30]}, base)
    with pytest.raises(ConfigError, match="tuning.space.schedule.final_fraction: every trial would ignore it: "
                                          "schedule.name is 'constant', and only linear and cosine"):
        SearchSpace.from_mapping({"schedule.final_fraction": [0.0, 0.5]}, BASE.update({"schedule.name": "constant"}))
    # A frozen encoder trains the head only, at the head's rate: three trials over layer_decay gave one result.
    base, settings = load_search({"model": {"init_from": checkpoint_folder, "freeze": "encoder"}})
    assert "optimizer.layer_decay" not in search_space(base, settings).keys
    with pytest.raises(ConfigError, match="tuning.space.optimizer.layer_decay: every trial would ignore it: "
                                          "model.freeze is 'encoder', and a frozen encoder"):
        SearchSpace.from_mapping({"optimizer.layer_decay": [1.0, 0.8]}, base)
    # The optimizer's own keys: adamw takes no momentum, sgd no betas (build_optimizer passes them to others only).
    for key, name in (("optimizer.momentum", "adamw"), ("optimizer.beta_2", "sgd"), ("optimizer.epsilon", "sgd")):
        with pytest.raises(ConfigError, match=f"tuning.space.{key}: every trial would ignore it: optimizer.name is "
                                              f"'{name}'"):
            SearchSpace.from_mapping({key: [0.5, 0.9]}, BASE.update({"optimizer.name": name}))
    space = SearchSpace.from_mapping({"optimizer.momentum": [0.0, 0.9], "optimizer.name": ["sgd", "adam"]}, BASE)
    assert space.keys == ["optimizer.momentum", "optimizer.name"]
    # Where some trials use it, it is searched.
    space = SearchSpace.from_mapping({"schedule.warmup_fraction": [0.0, 0.1], "schedule.warmup_steps": [0, 30]},
                                     base)
    assert space.keys == ["schedule.warmup_fraction", "schedule.warmup_steps"]


def test_load_search_of_a_config_object_takes_the_fine_tuning_recipe_from_overrides(checkpoint_folder):
    config = Config.from_dict({"data": {"source": "trec"}, "training": {"label_smoothing": 0.1}})
    base, _ = load_search(config, overrides=[f"model.init_from={checkpoint_folder}"])
    assert base.recipe == "fine_tune"
    assert (base.optimizer.learning_rate, base.training.epochs, base.training.batch_size) == (5e-5, 3, 32)
    assert base.schedule.name == "linear" and base.model.overrides == {} and base.data.sequence_length == 128
    # A key the config gave keeps its value, even one equal to the from-scratch default.
    assert base.training.label_smoothing == 0.1 and base.data.source == "trec"


@pytest.mark.parametrize("tuning, searched", [({"tuner": "random"}, True), ({"tuner": "bayesian"}, True),
                                              ({"tuner": "hyperband"}, False),
                                              ({"tuner": "random", "epochs": 2}, False)])
def test_the_default_fine_tuning_space_searches_epochs_only_where_nothing_else_sets_them(checkpoint_folder,
                                                                                          tuning, searched):
    base, settings = load_search({"model": {"init_from": checkpoint_folder}, "tuning": tuning})
    keys = search_space(base, settings).keys
    assert ("training.epochs" in keys) is searched
    assert {"optimizer.learning_rate", "schedule.warmup_fraction", "optimizer.layer_decay"} <= set(keys)
    if not searched:  # a declared space that searches them is still an error
        declared = {**tuning, "space": {"training.epochs": [1, 2]}}
        base, settings = load_search({"model": {"init_from": checkpoint_folder}, "tuning": declared})
        with pytest.raises(ConfigError, match="training.epochs"):
            search_space(base, settings)


def test_retraining_on_training_and_validation_data_is_refused_with_a_validation_file_before_searching(tmp_path):
    # It searched, then would have retrained on the training data alone: one run reads one labelled source.
    with pytest.raises(ConfigError, match=r"^--retrain-best trains on the training and validation data together, "
                                          r"and data.validation_source \(dev.csv\) is a file of its own; search "
                                          "without it, then train best_config.yaml with zoo train"):
        tune({"data": {"source": "missing.csv", "validation_source": "dev.csv"},
              "tuning": {"directory": str(tmp_path / "search")}}, retrain_best=True)
    # An export destination without the retraining it is for was ignored.
    with pytest.raises(ConfigError, match=r"^--export-to \(export_to\) is where --retrain-best exports the "
                                          "retrained best model; add --retrain-best, or leave --export-to out$"):
        tune({"data": {"source": "missing.csv"}, "tuning": {"directory": str(tmp_path / "search")}},
             export_to=tmp_path / "exported")
    assert not (tmp_path / "search").exists()


def test_roles_set_keras_tuner_environment_and_restore_it(monkeypatch):
    for key in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        monkeypatch.delenv(key, raising=False)
    with tuner_process() as process:
        assert process == "single"
    with tuner_process("worker", "127.0.0.1:8123", "w1") as process:
        assert process == "worker"
        assert (os.environ["KERASTUNER_TUNER_ID"], os.environ["KERASTUNER_ORACLE_IP"],
                os.environ["KERASTUNER_ORACLE_PORT"]) == ("w1", "127.0.0.1", "8123")
    assert "KERASTUNER_TUNER_ID" not in os.environ
    with tuner_process("chief", "10.0.0.1:9000") as process:
        assert process == "chief" and os.environ["KERASTUNER_TUNER_ID"] == "chief"
    with pytest.raises(ConfigError, match="--retrain-best runs on the chief"):
        tune({}, role="worker", oracle="127.0.0.1:1", retrain_best=True)
    with pytest.raises(ConfigError, match="distribution.strategy: trials train with default, one_device, mirrored"):
        tune({"distribution": {"strategy": "multi_worker"}})
    assert "KERASTUNER_TUNER_ID" not in os.environ
    for args, message in [(("chief",), "needs the oracle's address"), (("worker", "localhost"), "HOST:PORT"),
                          (("worker", "h:1", "chief-2"), "containing 'chief'"), ((None, "h:1"), "need --role"),
                          (("boss", "h:1"), "--role must be one of")]:
        with pytest.raises(ConfigError, match=message):
            with tuner_process(*args):
                pass


def test_a_base_setting_a_trial_ignores_is_refused_or_set_back_so_zoo_train_takes_the_trials_config():
    # zoo train refuses momentum under adamw: a search accepted it, and its best_config.yaml then failed to train.
    base = BASE.update({"optimizer.momentum": 0.9})
    with pytest.raises(ConfigError, match=r"^optimizer.momentum: 0.9 would be ignored by every trial: optimizer.name "
                                          r"is 'adamw', and only sgd and rmsprop take momentum; remove "
                                          r"optimizer.momentum, or set \(or search\) optimizer.name so that it applies$"):
        SearchSpace.from_mapping({"optimizer.learning_rate": [1e-3, 1e-2]}, base)
    space = SearchSpace.from_mapping({"optimizer.name": ["sgd", "adam"]}, base)
    assert space.apply(base, {"optimizer.name": "sgd"}).optimizer.momentum == 0.9
    adam = space.apply(base, {"optimizer.name": "adam"})
    assert adam.optimizer.momentum == 0.0 and ignored_settings(adam) == []
