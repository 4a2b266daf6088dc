"""Strategy names, devices and cluster resolvers; errors say what was wrong."""
import json

import pytest
import tensorflow as tf

from zoo.training.precision import resolve_precision
from zoo.training.strategies import (
    ONE_WORKER_TF_CONFIG,
    EmbeddingPartitioner,
    StrategyError,
    cluster_resolver,
    get_strategy,
    synchronous_workers,
    task_info,
)


def test_default_and_one_device():
    assert get_strategy("default") is tf.distribute.get_strategy()
    one = get_strategy("one_device", devices=["/cpu:1"])
    assert isinstance(one, tf.distribute.OneDeviceStrategy)
    assert one.extended.worker_devices[0].endswith("CPU:1")
    assert task_info(one) == (None, None, True) and synchronous_workers(one) == 1


def test_mirrored_uses_every_logical_cpu_by_default():
    mirrored = get_strategy("mirrored")
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert mirrored.num_replicas_in_sync == len(tf.config.list_logical_devices("CPU")) == 2
    assert get_strategy("mirrored", devices=["/cpu:0"]).num_replicas_in_sync == 1


def test_unknown_names_and_devices_are_errors():
    with pytest.raises(StrategyError, match="unknown strategy 'tpu'; choose one of default, one_device, mirrored"):
        get_strategy("tpu")
    with pytest.raises(StrategyError, match=r"no local device '/gpu:3'; available: .*CPU:0"):
        get_strategy("mirrored", devices=["/gpu:3"])


@pytest.mark.parametrize("name", ["one_device", "mirrored"])
def test_unusable_device_strings_name_distribution_devices(name):
    # These used to fail deep in TensorFlow: ValueError "Unknown attribute 'nonsense'", AssertionError "No
    # duplicates allowed", or (another job's device) "unknown device" at the first variable.
    for device in ("nonsense", "/job:worker/cpu:0"):
        with pytest.raises(StrategyError, match=f"distribution.devices: no local device '{device}'; available: "):
            get_strategy(name, devices=[device])
    with pytest.raises(StrategyError, match="distribution.devices: '/device:CPU:0' names the same device as "
                                            "'/cpu:0'; each device holds one replica, so list it once"):
        get_strategy(name, devices=["/cpu:0", "/device:CPU:0"])


def test_devices_and_timeout_a_strategy_would_ignore_are_errors(monkeypatch):
    # They were accepted and unused: the default strategy "took" /gpu:7, mirrored a 30 s collective timeout.
    monkeypatch.delenv("TF_CONFIG", raising=False)
    for name in ("default", "multi_worker", "parameter_server"):
        with pytest.raises(StrategyError, match=rf"distribution.devices \['/gpu:7'\] would be ignored: "
                                                rf"distribution.strategy {name} does not place replicas on listed "
                                                "devices .*; remove distribution.devices, or set "
                                                "distribution.strategy: mirrored"):
            get_strategy(name, devices=["/gpu:7"])
    for name in ("default", "one_device", "mirrored", "parameter_server"):
        with pytest.raises(StrategyError, match=f"distribution.collective_timeout 30.0 would be ignored: "
                                                f"distribution.strategy {name} has no cross-worker reductions"):
            get_strategy(name, collective_timeout=30.0)

def test_parameter_server_needs_a_cluster(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(StrategyError, match="parameter_server needs a cluster with 'worker' and 'ps' tasks"):
        get_strategy("parameter_server")


def test_multi_worker_without_a_cluster_says_what_tf_config_must_hold(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(StrategyError) as error:
        get_strategy("multi_worker")
    message = str(error.value)
    assert message.startswith("distribution.strategy: multi_worker found no cluster (TF_CONFIG is not set). "
                              "TF_CONFIG must hold the same cluster on every worker and this process's task, e.g. ")
    assert f"to run a one-worker cluster on purpose set TF_CONFIG='{ONE_WORKER_TF_CONFIG}'" in message
    assert json.loads(ONE_WORKER_TF_CONFIG)["cluster"] == {"worker": ["localhost:12345"]}
    # a cluster without this process's task is as useless: every worker would take itself for worker 0
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}}))
    with pytest.raises(StrategyError, match=r"multi_worker found the cluster \{'worker': \['127.0.0.1:2222', "
                                            r"'127.0.0.1:2223'\]\} but not this process's task in it \(task type "
                                            r"None, index None\) \(TF_CONFIG is '\{\"cluster\""):
        get_strategy("multi_worker")


def test_a_task_index_past_the_cluster_names_tf_config(monkeypatch):
    # It failed in TensorFlow with "ValueError: The `task_id` 2 exceeds the maximum id of worker."
    config = {"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}, "task": {"type": "worker", "index": 2}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    with pytest.raises(StrategyError, match=r"multi_worker found the cluster .* but not this process's task in it "
                                            r"\(task type 'worker', index 2\) \(TF_CONFIG is "):
        get_strategy("multi_worker")


@pytest.mark.parametrize("cluster", [["127.0.0.1:2222"], {"worker": "127.0.0.1:2222"}])
def test_tf_config_whose_cluster_is_not_jobs_to_address_lists_is_an_error(monkeypatch, cluster):
    # It failed as TensorFlow's TypeError ("`cluster` must be a dictionary ...") without naming TF_CONFIG.
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    for name in ("multi_worker", "parameter_server"):
        with pytest.raises(StrategyError, match=r"TF_CONFIG holds no usable cluster \(.*\): '\{\"cluster\": .*; its "
                                                r"\"cluster\" maps each job to a list of addresses, e.g. "):
            get_strategy(name)


def test_tf_config_must_be_json(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{cluster: nope")
    with pytest.raises(StrategyError, match="TF_CONFIG is not valid JSON"):
        cluster_resolver("tf_config")


def test_tf_config_resolver_reads_the_cluster(monkeypatch):
    config = {"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}, "task": {"type": "worker", "index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    resolver = cluster_resolver("tf_config")
    assert resolver.cluster_spec().as_dict() == config["cluster"]
    assert (resolver.task_type, resolver.task_id) == ("worker", 1)


def test_slurm_resolver_reads_the_job_step(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("SLURM_"):
            monkeypatch.delenv(name)
    with pytest.raises(StrategyError, match="slurm needs a Slurm job step"):
        cluster_resolver("slurm")
    monkeypatch.setenv("SLURM_PROCID", "1")
    monkeypatch.setenv("SLURM_STEP_NUM_TASKS", "2")
    monkeypatch.setenv("SLURM_STEP_NODELIST", "node[1-2]")
    monkeypatch.setenv("SLURM_STEP_TASKS_PER_NODE", "1(x2)")
    resolver = cluster_resolver("slurm")
    assert resolver.cluster_spec().as_dict() == {"worker": ["node1:8888", "node2:8888"]}
    assert (resolver.task_type, resolver.task_id) == ("worker", 1)


def test_embedding_partitioner_splits_only_the_vocabulary_table():
    partitioner = EmbeddingPartitioner(3, rows=1000)
    assert partitioner(tf.TensorShape([1000, 64]), tf.float32) == [3, 1]
    assert partitioner(tf.TensorShape([64, 1000]), tf.float32) == [1, 1]
    assert partitioner(tf.TensorShape([1000]), tf.float32) == [1]
    assert EmbeddingPartitioner(3)(tf.TensorShape([1000, 64]), tf.float32) == [1, 1]


def test_auto_precision_follows_the_hardware(monkeypatch):
    import zoo.training.precision as precision

    assert resolve_precision("mixed_float16") == "mixed_float16"
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "fma"})
    assert resolve_precision("auto") == "float32"
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx512f", "amx_bf16"})
    assert resolve_precision("auto") == "mixed_bfloat16"
    with pytest.raises(ValueError, match="training.precision must be one of"):
        resolve_precision("half")
