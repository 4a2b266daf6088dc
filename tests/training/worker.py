"""Child process for the multi-process tests: ``python worker.py CONFIG WEIGHTS.npz``.

Runs ``zoo.train`` on ``CONFIG`` (the cluster comes from ``TF_CONFIG``) and saves the final weights of this
process's model, so the test can compare workers.
"""
import sys

import numpy as np

from zoo.training import train


def main(config_path, weights_path):
    result = train(config_path)
    np.savez(weights_path, *result.model.get_weights())


if __name__ == "__main__":
    main(*sys.argv[1:])
