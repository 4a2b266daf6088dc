"""A string picks the ``tf.distribute`` strategy, in the spirit of Model Garden's ``get_distribution_strategy``.

Batch semantics everywhere in zoo: ``training.batch_size`` is the GLOBAL batch, the examples in one optimizer
step summed over every replica of every worker. Each replica computes ``batch_size / num_replicas_in_sync``
examples. Under ``parameter_server`` every step is one worker's batch of ``batch_size`` examples, applied
asynchronously.
"""
import errno
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import tensorflow as tf

from zoo.config import RESOLVERS, STRATEGIES

log = logging.getLogger(__name__)


class StrategyError(ValueError):
    """A strategy name, device list or cluster description is unusable; the message says which and why."""


class PeerStoppedError(RuntimeError):
    """Another task of a ``multi_worker`` cluster stopped mid-run, aborting this one's collective ops."""


# What TensorFlow raises in a task whose collective ops a stopped peer aborted.
PEER_STOPPED_ERRORS = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError)


class EmbeddingPartitioner:
    """Splits the embedding table (any variable with ``rows`` rows) into ``num_shards`` along axis 0.

    Only the token-embedding-sized variables are split: sharding is for tables too large for one parameter
    server; splitting small dense kernels would only add network round trips. ``rows`` is set once the
    tokenizer has fixed the vocabulary, before the model is built; the strategy itself must exist earlier
    (it configures the cluster before any other TensorFlow work).

    Args:
        num_shards: Shards per embedding table.
        rows: Vocabulary size: variables whose first dimension equals it are sharded.

    Example:
        >>> partitioner = EmbeddingPartitioner(2, rows=1000)
        >>> partitioner(tf.TensorShape([1000, 64]), tf.float32), partitioner(tf.TensorShape([64, 64]), tf.float32)
        ([2, 1], [1, 1])
    """

    def __init__(self, num_shards, rows=None):
        self.num_shards = int(num_shards)
        self.rows = rows

    def __call__(self, shape, dtype):
        parts = [1] * len(shape)
        if self.rows is not None and len(shape) >= 2 and shape[0] == self.rows:
            parts[0] = min(self.num_shards, self.rows)
        return parts


def cluster_resolver(kind="tf_config"):
    """Return the cluster resolver for ``kind``: ``tf_config``, ``slurm`` or ``kubernetes``.

    Args:
        kind: ``tf_config`` reads the ``TF_CONFIG`` environment variable; ``slurm`` reads the ``SLURM_*``
            variables of a job step; ``kubernetes`` asks the cluster API (needs the ``kubernetes`` package).

    Example:
        >>> type(cluster_resolver("tf_config")).__name__
        'TFConfigClusterResolver'
        >>> cluster_resolver("slurm")
        Traceback (most recent call last):
        ...
        zoo.training.strategies.StrategyError: distribution.cluster_resolver: slurm needs a Slurm job step
        (SLURM_PROCID and SLURM_STEP_* are not set; run under srun)
    """
    resolvers = tf.distribute.cluster_resolver
    if kind == "tf_config":
        raw = os.environ.get("TF_CONFIG")
        if raw:
            try:
                json.loads(raw)
            except json.JSONDecodeError as err:
                raise StrategyError(f"TF_CONFIG is not valid JSON ({err}): {raw!r}") from None
        resolver = resolvers.TFConfigClusterResolver()
        try:
            resolver.cluster_spec()
        except (TypeError, ValueError) as err:
            raise StrategyError(f"TF_CONFIG holds no usable cluster ({err}): {raw!r}; its \"cluster\" maps each job "
                                'to a list of addresses, e.g. {"worker": ["host1:12345", "host2:12345"]}') from None
        return resolver
    if kind == "slurm":
        if "SLURM_PROCID" not in os.environ:
            raise StrategyError("distribution.cluster_resolver: slurm needs a Slurm job step "
                                "(SLURM_PROCID and SLURM_STEP_* are not set; run under srun)")
        gpus = len(tf.config.list_physical_devices("GPU"))
        # On a CPU-only node SlurmClusterResolver steps through GPUs with a step of gpus_per_task = 0 and
        # crashes; with auto_set_gpu off its GPU assignment is unused, so give each task a nominal slot.
        options = ({"gpus_per_node": gpus} if gpus
                   else {"gpus_per_node": 1024, "gpus_per_task": 1, "auto_set_gpu": False})
        try:
            return resolvers.SlurmClusterResolver(**options)
        except (RuntimeError, KeyError, ValueError) as err:
            raise StrategyError(f"distribution.cluster_resolver: slurm could not read the job step: {err}") from None
    if kind == "kubernetes":
        try:
            return resolvers.KubernetesClusterResolver()
        except ImportError:
            raise StrategyError("distribution.cluster_resolver: kubernetes needs the `kubernetes` package "
                                "(pip install kubernetes)") from None
    raise StrategyError(f"unknown cluster resolver {kind!r}; choose one of {', '.join(RESOLVERS)}")


def _split_cpu(devices):
    """Configure as many logical CPU devices as ``devices`` name (``/cpu:1`` needs two), while TensorFlow has not
    initialised its devices yet; afterwards nothing changes (``_local_devices`` then says how to do it)."""
    keys = [_local_key(device) for device in devices]
    wanted = max((key[1] + 1 for key in keys if key and key[0] == "CPU"), default=1)
    cpus = tf.config.list_physical_devices("CPU")
    if wanted < 2 or len(cpus) != 1 or tf.config.get_logical_device_configuration(cpus[0]):
        return
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * wanted)
    except RuntimeError:  # TensorFlow's devices are initialised already
        pass


SPLIT_CPU_HOW = ("zoo splits the CPU into the logical devices distribution.devices names (/cpu:0, /cpu:1, ...) when "
                 "it creates the strategy before any other TensorFlow work, as zoo train does; in Python, call "
                 "tf.config.set_logical_device_configuration(tf.config.list_physical_devices('CPU')[0], "
                 "[tf.config.LogicalDeviceConfiguration()] * N) before TensorFlow initialises")


def _local_devices(devices):
    if devices:
        _split_cpu(devices)
        logical = tf.config.list_logical_devices()
        known = {_local_key(d.name) for d in logical}
        seen = {}
        for device in devices:
            key = _local_key(device)
            if key not in known:
                cpu = key is not None and key[0] == "CPU"
                raise StrategyError(f"distribution.devices: no local device {device!r}; "
                                    f"available: {', '.join(d.name for d in logical)}"
                                    + (f" (TensorFlow had initialised its devices already; {SPLIT_CPU_HOW})"
                                       if cpu else ""))
            if key in seen:
                raise StrategyError(f"distribution.devices: {device!r} names the same device as {seen[key]!r}; "
                                    "each device holds one replica, so list it once")
            seen[key] = device
        return list(devices)
    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]


def _local_key(device):
    """``(type, index)`` of a device string of this process, or ``None`` (unparsable, or another job's device)."""
    try:
        spec = tf.DeviceSpec.from_string(device)
    except ValueError:
        return None
    if spec.job not in (None, "localhost") or spec.replica not in (None, 0) or spec.task not in (None, 0):
        return None
    return spec.device_type, spec.device_index or 0


def get_strategy(name="default", *, devices=(), resolver="tf_config", variable_partitioner=None,
                 collective_timeout=0.0):
    """Return the ``tf.distribute.Strategy`` called ``name``.

    Create it first, before other TensorFlow work: the multi-worker strategies configure the cluster and
    collective ops at start-up.

    Args:
        name: ``default`` (no distribution), ``one_device``, ``mirrored`` (one replica per local device),
            ``multi_worker`` (synchronous all-reduce across the workers of the cluster, which must place this
            process: see ``check_worker_cluster``) or
            ``parameter_server`` (variables on ``ps`` tasks, steps scheduled on ``worker`` tasks).
        devices: Devices for ``one_device`` (one at most: empty means the first GPU, else the CPU) and
            ``mirrored`` (empty means every GPU, or every logical CPU when there is no GPU). Any other strategy
            refuses them.
        resolver: A ``cluster_resolver`` kind or a ``tf.distribute.cluster_resolver.ClusterResolver``.
        variable_partitioner: ``parameter_server`` only: how variables are split across ``ps`` tasks
            (e.g. an ``EmbeddingPartitioner``).
        collective_timeout: ``multi_worker`` only (others refuse it): seconds a reduction waits for a peer; 0
            waits forever.

    Example:
        >>> strategy = get_strategy("mirrored")
        >>> strategy.num_replicas_in_sync >= 1
        True
    """
    if name not in STRATEGIES:
        raise StrategyError(f"distribution.strategy: unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    # Refused rather than ignored: a run given devices or a timeout it does not use would seem to honour them.
    if devices and name not in ("one_device", "mirrored"):
        raise StrategyError(f"distribution.devices {list(devices)} would be ignored: distribution.strategy {name} does "
                            "not place replicas on listed devices (only one_device and mirrored do); remove "
                            "distribution.devices, or set distribution.strategy: mirrored")
    if collective_timeout and name != "multi_worker":
        raise StrategyError(f"distribution.collective_timeout {collective_timeout} would be ignored: distribution."
                            f"strategy {name} has no cross-worker reductions (only multi_worker does); remove "
                            "distribution.collective_timeout, or set distribution.strategy: multi_worker")
    if name in ("default", "one_device", "mirrored") and isinstance(resolver, str) and resolver == "tf_config":
        _refuse_tf_config_cluster(name)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        local = _local_devices(devices)  # first: an unusable device's own error names it
        if len(devices) > 1:
            raise StrategyError(f"distribution.devices {list(devices)} lists {len(devices)} devices, but distribution."
                                "strategy one_device trains on one (the others would be ignored); list one device, or "
                                "set distribution.strategy: mirrored to train a replica on each")
        return tf.distribute.OneDeviceStrategy(local[0])
    if name == "mirrored":
        devices = _local_devices(devices)
        # Logical CPU devices share one memory, so reducing onto one of them is as fast as collective ops,
        # and it avoids their process-wide keys: a second MirroredStrategy in the same process (tests,
        # notebooks, tuning trials) reuses the first one's collective instance keys and aborts with a
        # shape mismatch.
        on_cpu = all(tf.DeviceSpec.from_string(d).device_type == "CPU" for d in devices)
        cross_device_ops = tf.distribute.ReductionToOneDevice() if on_cpu else None
        if len(devices) == 1:
            log.warning("warning: distribution.strategy: mirrored found one device (%s), so it trains one replica, "
                        "as default does. It runs a replica per GPU, or per device of distribution.devices; zoo "
                        "train splits a CPU into the logical devices listed there, e.g. --set "
                        "'distribution.devices=[/cpu:0,/cpu:1]'", devices[0])
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=cross_device_ops)
    if isinstance(resolver, str):
        resolver = cluster_resolver(resolver)
    if name == "multi_worker":
        check_worker_cluster(resolver)
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=collective_timeout or None)
        return _multi_worker(resolver, options, collective_timeout)
    spec = resolver.cluster_spec().as_dict()
    if not spec.get("ps") or not spec.get("worker"):
        raise StrategyError("distribution.strategy: parameter_server needs a cluster with 'worker' and 'ps' tasks "
                            f"(from TF_CONFIG or the resolver); got jobs {sorted(spec) or 'none'}")
    return tf.distribute.experimental.ParameterServerStrategy(resolver, variable_partitioner=variable_partitioner)


def _refuse_tf_config_cluster(name):
    """Raise ``StrategyError`` when ``TF_CONFIG`` describes a cluster that strategy ``name`` would not join."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return
    resolver = cluster_resolver("tf_config")  # a TF_CONFIG that is no JSON or no cluster is named there
    if not resolver.cluster_spec().as_dict():
        return
    where = f"task {resolver.task_type} {resolver.task_id or 0} of a cluster" if resolver.task_type else "a cluster"
    raise StrategyError(
        f"distribution.strategy: {name} trains in this process alone, but TF_CONFIG places it in {where} "
        f"({raw}): every task would train its own model into the same run directory. To train across the cluster "
        "set distribution.strategy: multi_worker (or parameter_server) on every task; to train alone unset "
        "TF_CONFIG")


def _task_address(resolver):
    try:
        return resolver.cluster_spec().task_address(resolver.task_type, resolver.task_id)
    except (ValueError, KeyError, IndexError, TypeError):
        return "?"


def _multi_worker(resolver, options, timeout):
    """``MultiWorkerMirroredStrategy`` on ``resolver``'s cluster, saying first that it waits for the other tasks.

    Its set-up blocks inside TensorFlow, holding Python's interpreter lock, until every task has started: no
    Python code runs meanwhile, signal handlers included (Ctrl-C and SIGTERM wait too). Without ``timeout``
    (``distribution.collective_timeout``) it waits for ever; with it, a watchdog process says so and ends this
    one with SIGKILL (exit status 137) once the wait has lasted that long.
    """
    spec = resolver.cluster_spec()
    me = (resolver.task_type, resolver.task_id)
    others = ", ".join(f"{job} {index} at {spec.task_address(job, index)}" for job in spec.jobs
                       for index in spec.task_indices(job) if (job, index) != me)
    address = _task_address(resolver)
    if _port_taken(address):
        raise _port_taken_error(address, me)
    watchdog = None
    if others:
        limit = (f"for up to {timeout:g}s (distribution.collective_timeout)" if timeout else
                 "with no time limit (distribution.collective_timeout sets one)")
        log.warning("%s %s at %s: waiting for the cluster's other tasks (%s) to start, %s; meanwhile Ctrl-C and "
                    "SIGTERM wait too (kill -9 ends it)", me[0], me[1], address, others, limit)
        if timeout:
            message = (f"zoo: error: {me[0]} {me[1]} at {address}: the cluster's other tasks ({others}) did "
                       f"not all start within distribution.collective_timeout {timeout:g}s; killed (TensorFlow's "
                       "wait ignores signals). Start every task of TF_CONFIG's cluster, then rerun\n")
            watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(timeout), message],
                                        stdin=subprocess.PIPE)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver, communication_options=options)
    except tf.errors.UnknownError as err:
        if "Could not start gRPC server" not in str(err):
            raise
        raise _port_taken_error(address, me) from None
    finally:
        if watchdog is not None:
            watchdog.stdin.close()
            watchdog.wait()


# Run as ``python -c _WATCHDOG PID SECONDS MESSAGE``: kills PID unless its standard input closes within SECONDS.
_WATCHDOG = """import os, select, signal, sys
if not select.select([sys.stdin], [], [], float(sys.argv[2]))[0]:
    sys.stderr.write(sys.argv[3])
    sys.stderr.flush()
    os.kill(int(sys.argv[1]), signal.SIGKILL)
"""


class ServerStopped(Exception):
    """A ``ps`` or ``worker`` task of a ``parameter_server`` cluster served until a signal stopped it.

    Attributes:
        signal_number: ``signal.SIGINT`` (Ctrl-C) or ``signal.SIGTERM``.
    """

    def __init__(self, message, signal_number):
        super().__init__(message)
        self.signal_number = signal_number


# The signals that stop a serving task, as its message names them.
STOP_SIGNALS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


def serve(resolver):
    """Serve this process's ``ps`` or ``worker`` task of a ``parameter_server`` cluster until it is stopped.

    Such tasks run no training code: the chief (the coordinator) places variables on the ``ps`` tasks and steps
    on the ``worker`` tasks through their ``tf.distribute.Server``. Returns nothing: Ctrl-C or SIGTERM raises
    ``ServerStopped`` (in the main thread; elsewhere the process's own handlers stay).
    """
    me = (resolver.task_type, resolver.task_id)
    address = _task_address(resolver)
    if _port_taken(address):
        raise _port_taken_error(address, me, "parameter_server")
    config = None
    if me[0] == "worker":
        # A worker runs several closures of the coordinator at once; fewer inter-op threads than that stall it.
        config = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=max(os.cpu_count() or 1, 4))
    tf.distribute.Server(resolver.cluster_spec(), job_name=me[0], task_index=me[1], config=config,
                         protocol=resolver.rpc_layer or "grpc", start=True)

    def stop(number, frame):
        raise ServerStopped(f"{me[0]} {me[1]} at {address} stopped serving ({STOP_SIGNALS[number]})", number)

    # SIGTERM's default handler ended the process without a word, where Ctrl-C said it stopped serving.
    previous = ({number: signal.signal(number, stop) for number in STOP_SIGNALS}
                if threading.current_thread() is threading.main_thread() else {})
    try:
        log.warning("%s %s at %s: serving the parameter_server cluster: the chief task (zoo train with TF_CONFIG's "
                    "task type chief) trains through it; this task runs until stopped (Ctrl-C or SIGTERM) after the "
                    "chief is done", me[0], me[1], address)
        while True:
            time.sleep(3600)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _port_taken(address):
    """True when another process listens on the port of ``address`` (``host:port``) on this machine."""
    try:
        port = int(str(address).rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("", port))
        except OSError as err:
            return err.errno == errno.EADDRINUSE
    return False


def _port_taken_error(address, task, strategy="multi_worker"):
    return StrategyError(f"distribution.strategy: {strategy} could not listen on {address}, the address TF_CONFIG "
                         f"gives this task ({task[0]} {task[1]}): the port is taken (by another process, or a task of "
                         "another run still alive); stop that process, or give this task a free port in TF_CONFIG's "
                         "cluster on every task")


def check_batch_size(batch_size, strategy):
    """Raise ``StrategyError`` unless the global ``batch_size`` splits evenly over ``strategy``'s replicas.

    Example:
        >>> check_batch_size(15, tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
        Traceback (most recent call last):
        ...
        zoo.training.strategies.StrategyError: training.batch_size 15 must be divisible by the 2 replicas ...
    """
    replicas = 1 if is_parameter_server(strategy) else strategy.num_replicas_in_sync
    if batch_size % replicas:
        lower = batch_size // replicas * replicas
        sizes = " or ".join(str(size) for size in (lower, lower + replicas) if size > 0)
        raise StrategyError(f"training.batch_size {batch_size} must be divisible by the {replicas} replicas "
                            f"(it is the global batch, split evenly over them); try training.batch_size {sizes}")


ONE_WORKER_TF_CONFIG = '{"cluster": {"worker": ["localhost:12345"]}, "task": {"type": "worker", "index": 0}}'


def check_worker_cluster(resolver):
    """Raise ``StrategyError`` unless ``resolver`` places this process as a worker (or chief) of a cluster.

    Without the check, ``MultiWorkerMirroredStrategy`` given no cluster quietly trains alone: on a real
    cluster every worker would train its own model and report success. A one-worker cluster is allowed when
    it is spelt out (``ONE_WORKER_TF_CONFIG``), e.g. to try a multi-worker config on one machine.

    Example:
        >>> check_worker_cluster(tf.distribute.cluster_resolver.TFConfigClusterResolver())  # TF_CONFIG not set
        Traceback (most recent call last):
        ...
        zoo.training.strategies.StrategyError: distribution.strategy: multi_worker found no cluster (TF_CONFIG is not
        set). TF_CONFIG must hold the same cluster on every worker and this process's task, ...
    """
    spec = resolver.cluster_spec().as_dict()
    if not spec.get("worker") and not spec.get("chief"):
        problem = "found no cluster"
    elif (resolver.task_type not in ("worker", "chief") or resolver.task_id is None
          or resolver.task_id not in _task_indices(spec.get(resolver.task_type, []))):
        problem = (f"found the cluster {spec} but not this process's task in it "
                   f"(task type {resolver.task_type!r}, index {resolver.task_id!r})")
    else:
        return
    if isinstance(resolver, tf.distribute.cluster_resolver.TFConfigClusterResolver):
        where = ("TF_CONFIG is not set" if not os.environ.get("TF_CONFIG")
                 else f"TF_CONFIG is {os.environ['TF_CONFIG']!r}")
        how = ("TF_CONFIG must hold the same cluster on every worker and this process's task, e.g. "
               '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}} '
               "(index 1 on host2). To train in one process use distribution.strategy: mirrored; to run a "
               f"one-worker cluster on purpose set TF_CONFIG='{ONE_WORKER_TF_CONFIG}'")
    else:
        where = f"the {type(resolver).__name__} describes no worker task for this process"
        how = "run every worker inside the cluster the resolver reads (distribution.cluster_resolver)"
    raise StrategyError(f"distribution.strategy: multi_worker {problem} ({where}). {how}")


def _task_indices(tasks):
    """The task indices of a job: its addresses are a list, or a dict from index to address."""
    return set(tasks) if isinstance(tasks, dict) else set(range(len(tasks)))


def is_parameter_server(strategy):
    """True for a ``ParameterServerStrategy`` (steps are scheduled through a ``ClusterCoordinator``)."""
    return isinstance(strategy, tf.distribute.experimental.ParameterServerStrategy)


def task_info(strategy):
    """Return ``(task_type, task_id, is_chief)`` of this process in ``strategy``'s cluster.

    The chief is the ``chief`` task, or worker 0 when the cluster has none; a process outside any cluster
    (single machine) is the chief. Only the chief writes the run directory.

    Example:
        >>> task_info(tf.distribute.get_strategy())
        (None, None, True)
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or is_parameter_server(strategy):
        return None, None, True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type in (None, "chief"):
        return task_type, task_id, True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type, task_id, task_type == "worker" and task_id == 0 and not has_chief


def synchronous_workers(strategy):
    """Return how many worker processes step in lock-step (1 unless ``multi_worker``)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or is_parameter_server(strategy):
        return 1
    spec = resolver.cluster_spec().as_dict()
    return max(len(spec.get("worker", [])) + len(spec.get("chief", [])), 1)


def worker_values(strategy, value):
    """Return ``value`` (an integer) of every worker of ``strategy``, in task order (the chief's first).

    A collective: every worker of the cluster must call it, in the same order as its other collectives, or they
    wait for one another for ever. With one worker it returns ``[value]`` and calls nothing.
    """
    workers = synchronous_workers(strategy)
    if workers < 2:
        return [int(value)]

    @tf.function
    def gather(local):
        # tf.identity places the value on each replica's device (a function argument has none).
        return strategy.run(lambda: tf.distribute.get_replica_context().all_gather(tf.identity(local), axis=0))

    gathered = strategy.experimental_local_results(gather(tf.constant([int(value)], tf.int64)))[0].numpy()
    # One entry per replica, the replicas of a worker together: keep each worker's first.
    per_worker = max(len(gathered) // workers, 1)
    return [int(v) for v in gathered[::per_worker]]
