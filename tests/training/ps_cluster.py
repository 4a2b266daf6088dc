"""Child process for the parameter-server test: ``python ps_cluster.py CONFIG RESULT.json``.

Starts two workers and two parameter servers as in-process servers on 127.0.0.1 (TensorFlow's recipe for
trying ``ParameterServerStrategy`` on one machine), trains ``CONFIG`` with this process as coordinator, and
writes where the embedding table's shards live and the run's metrics.
"""
import json
import sys

import tensorflow as tf

from tests.training.conftest import free_port
from zoo.training import train


def in_process_cluster(workers=2, parameter_servers=2):
    spec = tf.train.ClusterSpec({"worker": [f"127.0.0.1:{free_port()}" for _ in range(workers)],
                                 "ps": [f"127.0.0.1:{free_port()}" for _ in range(parameter_servers)]})
    worker_config = tf.compat.v1.ConfigProto()
    # Workers need more inter-op threads than this machine's two cores to run their closures.
    worker_config.inter_op_parallelism_threads = workers + 1
    for index in range(workers):
        tf.distribute.Server(spec, job_name="worker", task_index=index, config=worker_config, protocol="grpc")
    for index in range(parameter_servers):
        tf.distribute.Server(spec, job_name="ps", task_index=index, protocol="grpc")
    return tf.distribute.cluster_resolver.SimpleClusterResolver(spec, rpc_layer="grpc")


def main(config_path, result_path):
    result = train(config_path, resolver=in_process_cluster())
    table = result.model.backbone.token_embedding.embeddings.value
    sharded = isinstance(table, tf.__internal__.distribute.ShardedVariable)
    shards = [{"shape": v.shape.as_list(), "device": v.device} for v in table.variables] if sharded else []
    with open(result_path, "w") as handle:
        json.dump({"sharded": sharded, "shards": shards, "vocab_size": result.tokenizer.vocab_size,
                   "history": result.history, "metrics": result.metrics}, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
