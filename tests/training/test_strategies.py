"""Strategy names, devices and cluster resolvers; errors say what was wrong."""
import io
import json
import signal
import socket
import subprocess
import time

import pytest
import tensorflow as tf

from tests.training.conftest import PYTHON, free_port, subprocess_env, tiny_config, write_tiny_csv
from zoo.training import train

from zoo.training.precision import resolve_precision
from zoo.training.strategies import (
    ONE_WORKER_TF_CONFIG,
    EmbeddingPartitioner,
    StrategyError,
    check_batch_size,
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


def test_one_device_refuses_more_than_one_device():
    # It trained one replica on /cpu:0 and ignored /cpu:1 without a word.
    with pytest.raises(StrategyError) as caught:
        get_strategy("one_device", devices=["/cpu:0", "/cpu:1"])
    assert str(caught.value) == (
        "distribution.devices ['/cpu:0', '/cpu:1'] lists 2 devices, but distribution.strategy one_device trains on "
        "one (the others would be ignored); list one device, or set distribution.strategy: mirrored to train a "
        "replica on each")


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


@pytest.mark.parametrize("name", ["default", "one_device", "mirrored"])
def test_tf_config_naming_a_cluster_is_refused_by_a_strategy_that_trains_alone(monkeypatch, name):
    # Chief and worker launched with TF_CONFIG but the default strategy each trained alone into one run directory.
    config = {"cluster": {"chief": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223"]}, "task": {"type": "worker"}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    with pytest.raises(StrategyError, match=rf"distribution.strategy: {name} trains in this process alone, but "
                                            r"TF_CONFIG places it in task worker 0 of a cluster \(.*\): every task "
                                            "would train its own model into the same run directory. To train across "
                                            "the cluster set distribution.strategy: multi_worker .*; to train alone "
                                            "unset TF_CONFIG"):
        get_strategy(name)
    monkeypatch.setenv("TF_CONFIG", "{}")  # names no cluster: nothing to join
    assert get_strategy(name).num_replicas_in_sync >= 1


def test_a_taken_port_is_named_with_its_task(monkeypatch):
    # It was a traceback ending "UnknownError: Could not start gRPC server", exit status 1.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cluster = {"worker": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{port}"]}
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}}))
        with pytest.raises(StrategyError, match=f"multi_worker could not listen on 127.0.0.1:{port}, the address "
                                                r"TF_CONFIG gives this task \(worker 1\): the port is taken"):
            get_strategy("multi_worker")


def test_mirrored_on_one_device_warns_that_it_is_one_replica(caplog):
    assert get_strategy("mirrored", devices=["/cpu:0"]).num_replicas_in_sync == 1
    assert "mirrored found one device (/cpu:0), so it trains one replica, as default does" in caplog.text
    assert "distribution.devices=[/cpu:0,/cpu:1]" in caplog.text


def test_a_cpu_device_past_the_logical_ones_says_how_to_split_the_cpu():
    # TensorFlow is initialised with two logical CPUs here (tests/conftest.py): too late to make a third.
    with pytest.raises(StrategyError, match=r"no local device '/cpu:2'; available: .*CPU:1 \(TensorFlow had "
                                            r"initialised its devices already; zoo splits the CPU .*"
                                            r"tf.config.set_logical_device_configuration"):
        get_strategy("mirrored", devices=["/cpu:0", "/cpu:2"])


def test_listed_cpu_devices_are_made_before_tensorflow_initialises():
    # The Config.override docstring's distribution.devices=[/cpu:0,/cpu:1] failed on a one-CPU machine.
    code = ("from zoo.training.strategies import get_strategy; "
            "print(get_strategy('mirrored', devices=['/cpu:0', '/cpu:1', '/cpu:2']).num_replicas_in_sync)")
    done = subprocess.run([PYTHON, "-c", code], env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split()[-1] == "3", done.stderr[-2000:]


def test_a_batch_the_replicas_cannot_share_suggests_the_nearest_sizes():
    mirrored = get_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
    with pytest.raises(StrategyError, match=r"training.batch_size 15 must be divisible by the 2 replicas \(it is "
                                            r"the global batch, split evenly over them\); try training.batch_size "
                                            "14 or 16"):
        check_batch_size(15, mirrored)
    with pytest.raises(StrategyError, match="try training.batch_size 2$"):
        check_batch_size(1, mirrored)
    check_batch_size(16, mirrored)


def test_train_refuses_such_a_batch_before_its_summary(tmp_path):
    # "each epoch trains 21 batches of 15" came first, then the refusal.
    config = tiny_config(write_tiny_csv(tmp_path / "data.csv", n=40), tmp_path / "run", training={"batch_size": 15},
                         distribution={"strategy": "mirrored", "devices": ["/cpu:0", "/cpu:1"]},
                         output={"dir": str(tmp_path / "run"), "progress": "epoch"})
    stream = io.StringIO()
    with pytest.raises(StrategyError, match="try training.batch_size 14 or 16"):
        train(config, progress_stream=stream)
    assert stream.getvalue() == "" and not (tmp_path / "run").exists()


def test_peer_stopped_names_the_checkpoint_a_rerun_resumes_from(tmp_path):
    from zoo.training.run import _peer_stopped

    err = tf.errors.UnavailableError(None, None, "Graph execution error:\n\nDetected at node x\n{{function_node f}} "
                                                "Collective ops is aborted by: Socket closed\nAdditional GRPC error")
    rerun = "rerun the same command on every task of TF_CONFIG's cluster"
    assert _peer_stopped(err, tmp_path, "chief", 0, rerun) == (
        "another task of the multi_worker cluster stopped, so chief 0 stopped too (TensorFlow: Collective ops is "
        "aborted by: Socket closed); rerun the same command on every task of TF_CONFIG's cluster: the run starts "
        "afresh (no checkpoint was written yet)")
    checkpoint = tf.train.Checkpoint(step=tf.Variable(1))
    saved = checkpoint.save(str(tmp_path / "checkpoints" / "ckpt"))
    assert _peer_stopped(err, tmp_path, "worker", 1, rerun).endswith(
        f"the run resumes from the last checkpoint, {saved}")


@pytest.mark.slow
def test_a_chief_waiting_for_absent_peers_says_so_and_gives_up_after_the_collective_timeout():
    # It printed nothing and hung in MultiWorkerMirroredStrategy's set-up, deaf to SIGINT and SIGTERM.
    chief, worker = free_port(), free_port()
    config = {"cluster": {"chief": [f"127.0.0.1:{chief}"], "worker": [f"127.0.0.1:{worker}"]},
              "task": {"type": "chief", "index": 0}}
    code = "from zoo.training.strategies import get_strategy; get_strategy('multi_worker', collective_timeout=2)"
    done = subprocess.run([PYTHON, "-c", code], env=subprocess_env(TF_CONFIG=json.dumps(config)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr[-2000:]
    assert (f"chief 0 at 127.0.0.1:{chief}: waiting for the cluster's other tasks (worker 0 at 127.0.0.1:{worker}) "
            "to start, for up to 2s (distribution.collective_timeout)") in done.stderr
    assert ("the cluster's other tasks (worker 0 at 127.0.0.1:{}) did not all start within "
            "distribution.collective_timeout 2s").format(worker) in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("task, stop", [("ps", "SIGINT"), ("worker", "SIGINT"), ("ps", "SIGTERM")])
def test_zoo_train_on_a_parameter_server_task_serves_until_stopped(tmp_path, task, stop):
    # It failed with a traceback ending "Could not start gRPC server": such tasks had no way to run.
    ports = {job: f"127.0.0.1:{free_port()}" for job in ("chief", "worker", "ps")}
    config = {"cluster": {job: [address] for job, address in ports.items()}, "task": {"type": task, "index": 0}}
    server = subprocess.Popen([PYTHON, "-m", "zoo.cli", "train", "--set", "distribution.strategy=parameter_server"],
                              env=subprocess_env(TF_CONFIG=json.dumps(config)), cwd=tmp_path,
                              stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in server.stderr:
            lines.append(line)
            if "serving the parameter_server cluster" in line:
                break
        assert lines and lines[-1].startswith(f"{task} 0 at {ports[task]}: serving the parameter_server cluster: the "
                                              "chief task (zoo train with TF_CONFIG's task type chief) trains "
                                              "through it"), "".join(lines)[-3000:]
        time.sleep(3)
        # SIGTERM (what a cluster manager sends) ended the task without a word.
        number = getattr(signal, stop)
        server.send_signal(number)
        assert server.wait(timeout=30) == 128 + number
        said = {"SIGINT": "Ctrl-C", "SIGTERM": "SIGTERM"}[stop]
        assert f"zoo train: error: {task} 0 at {ports[task]} stopped serving ({said})" in server.stderr.read()
    finally:
        server.kill()
        server.wait()
        server.stderr.close()
