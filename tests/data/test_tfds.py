"""tfds data sets: the spec's name and config, and the splits a run reads from a prepared ``data_dir``.

A tiny data set (two configs, train 20 / test 10 records) is prepared under a temporary ``data_dir`` with a
builder tfds does not register, as a data set copied from another machine is read.
"""
import pytest

import zoo.data
from zoo.config import Config
from zoo.data.errors import DataFileNotFoundError, DataSpecError
from zoo.data.sources import _tfds_name, load, official_splits
from zoo.training.data import origin_of_split, split_texts

tfds = pytest.importorskip("tensorflow_datasets", reason="tensorflow-datasets is not installed")

NAME = "zoo_test_tiny_reviews"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("tfds")
    with tfds.core.registered.skip_registration():
        class ZooTestTinyReviews(tfds.core.GeneratorBasedBuilder):
            VERSION = tfds.core.Version("1.0.0")
            BUILDER_CONFIGS = [tfds.core.BuilderConfig(name="short"), tfds.core.BuilderConfig(name="long")]

            def _info(self):
                features = tfds.features.FeaturesDict({"text": tfds.features.Text(),
                                                       "label": tfds.features.ClassLabel(names=["neg", "pos"])})
                return tfds.core.DatasetInfo(builder=self, features=features, supervised_keys=("text", "label"))

            def _split_generators(self, dl_manager):
                return {"train": self._generate_examples(0, 20), "test": self._generate_examples(20, 30)}

            def _generate_examples(self, start, stop):
                for i in range(start, stop):
                    yield i, {"text": f"{self.builder_config.name} review number {i}", "label": i % 2}

    try:
        for config in ("short", "long"):
            ZooTestTinyReviews(config=config, data_dir=str(root)).download_and_prepare()
    except Exception as error:  # an environment where tfds cannot prepare a data set
        pytest.skip(f"tensorflow-datasets cannot prepare a data set here ({type(error).__name__}: {error})")
    return str(root)


@pytest.mark.parametrize("spec,want", [
    ("glue:sst2", ("glue", "sst2")), ("glue/sst2", ("glue", "sst2")), ("imdb_reviews", ("imdb_reviews", "")),
])
def test_a_tfds_spec_takes_zoos_and_tfdss_spelling_of_the_config(spec, want):
    assert _tfds_name(spec) == want


@pytest.mark.parametrize("spec,message", [
    ("tfds:", r"^tfds spec needs a name: 'tfds:<name>\[:<config>\]'$"),
    ("tfds:glue/sst2:x", r"^tfds:glue/sst2:x: give the config once, as 'tfds:<name>:<config>'"),
    ("tfds:glue:sst2/x", r"a tfds spec is 'tfds:<name>\[:<config>\]'"),
])
def test_a_bad_tfds_spec_is_refused_alike_by_load_and_official_splits(spec, message):
    # official_splits (which zoo train and zoo evaluate call first) passed "" to tfds, whose parsing help was
    # printed, and "glue/sst2" with config=None to tfds.builder: "dict() got multiple values for 'config'".
    for call in (lambda: load(spec), lambda: official_splits(spec)):
        with pytest.raises(DataSpecError, match=message):
            call()


def test_tfds_own_config_spelling_of_an_unprepared_set_is_not_prepared_on_every_path(tmp_path):
    assert official_splits("tfds:glue/sst2", data_dir=str(tmp_path)) == ()
    with pytest.raises(DataFileNotFoundError, match=r"^tfds:glue/sst2: the data set is not prepared"):
        load("tfds:glue/sst2", data_dir=str(tmp_path))
    config = Config.from_dict({"data": {"source": "tfds:glue/sst2", "load_options": {"data_dir": str(tmp_path)}}})
    with pytest.raises(DataFileNotFoundError, match=r"^tfds:glue/sst2: the data set is not prepared"):
        split_texts(config)


def test_official_splits_are_those_prepared_in_the_data_dir(data_dir, tmp_path):
    # Without data_dir tfds.builder(name) knew nothing of a set prepared elsewhere: zoo train said "no data set
    # named ..." where load read it, and for a set tfds knows held the official test split out of training.
    for spec in (f"tfds:{NAME}:long", f"tfds:{NAME}/long"):
        assert official_splits(spec, data_dir=data_dir) == ("train", "test")
        assert load(spec, split="test", data_dir=data_dir).texts[0].startswith("long review number 2")
    with pytest.raises(DataSpecError, match=rf"no data set named '{NAME}/long', and none is prepared under "
                                            rf"data_dir={tmp_path}") as err:
        official_splits(f"tfds:{NAME}/long", data_dir=str(tmp_path))
    assert err.value.options == ("data_dir",)


@pytest.mark.parametrize("spec", [f"tfds:{NAME}:short", f"tfds:{NAME}/short"])
def test_a_run_reads_the_official_test_split_of_its_data_dir(data_dir, spec):
    config = Config.from_dict({"data": {"source": spec, "load_options": {"data_dir": data_dir}}})
    assert origin_of_split(config, "test") == "official"
    assert origin_of_split(config, "validation") == "seeded"
    splits = split_texts(config)
    assert [len(splits[name]) for name in ("train", "validation", "test")] == [18, 2, 10]
    assert sorted(splits["test"].texts) == sorted(f"short review number {i}" for i in range(20, 30))
    assert isinstance(splits["test"], zoo.data.LabeledTexts) and splits["test"].label_names == ["neg", "pos"]
