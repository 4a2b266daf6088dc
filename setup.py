"""Packaging for zoo: a Keras 3 / TensorFlow-native model zoo for Transformers."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

setup(
    name="zoo",
    version="0.1.0",
    description="Keras 3 / TensorFlow model zoo for Transformers: raw text to a trained, tuned and exported model.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["zoo", "zoo.*"]),
    include_package_data=True,
    # MR (CC BY 4.0), compressed, with its README, licence and citation: the default data set of a fresh install.
    package_data={"zoo.data": ["builtin/mr/*"]},
    install_requires=[
        "tensorflow>=2.21.0,<2.22",
        "keras>=3.15.1,<3.16",
        # tensorflow-text ships kernels built against one TF minor release: it must match TF's.
        "tensorflow-text>=2.21.1,<2.22",
        "tensorflow-datasets>=4.9.10,<4.10",
        # zoo.data imports it to read .parquet files (Hugging Face's format); not only a tensorflow-datasets dependency.
        "pyarrow>=14",
        # tensorflow-datasets 4.9.10 imports it without declaring it.
        "importlib_resources>=6.0",
        "keras-tuner>=1.4.8,<1.5",
        # keras-tuner imports tensorboard in every trial on the TensorFlow backend.
        "tensorboard>=2.20",
        "scipy>=1.11",
        "scikit-learn>=1.4",
        "matplotlib>=3.8",
        "pyyaml>=6.0",
        "sentencepiece>=0.2",
        "numpy>=1.26",
        # Pretrained checkpoints (zoo.from_pretrained): safetensors' numpy backend, no torch; h5py reads
        # keras-hub presets (and is a Keras dependency already).
        "safetensors>=0.4",
        "h5py>=3.10",
        "tqdm>=4.66",
        # BLEU and ROUGE for generated text (zoo.evaluation.text_metrics).
        "sacrebleu>=2.6.0,<3",
        "rouge-score>=0.1.2,<0.2",
    ],
    extras_require={
        "dev": [
            "pytest>=8.0",
            "pytest-timeout>=2.3",
            "pytest-xdist>=3.5,<4",
            "nbclient>=0.10",
            "nbformat>=5.10",
            "ipykernel>=6.29",
            # tqdm.auto draws its progress widget in Jupyter only with ipywidgets (else it warns).
            "ipywidgets>=8.1,<9",
            # The JAX re-run of the layer tests; 0.10.2 is the release tested with keras 3.15.1.
            "jax>=0.10.2,<0.11",
            # References for the pretrained-checkpoint tests: keras-hub's BERT (an anchor) and Hugging Face's
            # tokenizers (the reference tokenizer).
            "keras-hub>=0.20",
            "tokenizers>=0.15",
        ],
    },
    entry_points={"console_scripts": ["zoo=zoo.cli:main"]},
)
