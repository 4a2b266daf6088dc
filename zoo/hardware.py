"""What the machine computes natively, and the one place where bfloat16 decisions follow from it.

Kept free of TensorFlow: the layers (which must run on JAX too) ask it which dtype their attention core
uses, and ``zoo.training.precision`` asks it whether ``auto`` may pick bfloat16.
"""
import os
from pathlib import Path

import keras

# CPU features with native bfloat16 matrix arithmetic. Without them TensorFlow emulates bfloat16 through
# float32 conversions, which made training slower, not faster, on the AVX2-only CPU measured for zoo.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
# CPU features with native float16 arithmetic, which oneDNN's float16 kernels need; without them TensorFlow
# computes float16 through float32 conversions (Eigen): a float16 batched matmul ran 1.16x slower than float32.
FP16_CPU_FLAGS = ("amx_fp16", "avx512_fp16")
# Overrides the attention core's dtype under bfloat16: ``float32`` or ``compute`` (the layer's compute dtype).
ATTENTION_CORE_ENV = "ZOO_ATTENTION_CORE_DTYPE"
_CORE_CHOICES = ("float32", "compute")


def cpu_flags():
    """Return the CPU feature flags the kernel reports (empty where /proc/cpuinfo does not exist)."""
    info = Path("/proc/cpuinfo")
    if not info.exists():
        return set()
    for line in info.read_text(errors="replace").splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def native_bf16_flags(flags=None):
    """Return the CPU flags (of ``BF16_CPU_FLAGS``) that give native bfloat16 arithmetic, sorted.

    Example:
        >>> native_bf16_flags({"avx2", "avx512_bf16"})
        ['avx512_bf16']
    """
    return _present(flags, BF16_CPU_FLAGS)


def native_fp16_flags(flags=None):
    """Return the CPU flags (of ``FP16_CPU_FLAGS``) that give native float16 arithmetic, sorted.

    Example:
        >>> native_fp16_flags({"avx2", "f16c"})
        []
    """
    return _present(flags, FP16_CPU_FLAGS)


def _present(flags, wanted):
    """The flags of ``wanted`` among ``flags`` (``None``: this machine's), sorted."""
    return sorted(set(cpu_flags() if flags is None else flags) & set(wanted))


def attention_core_dtype(compute_dtype, flags=None):
    """Return the dtype the attention core (QKᵀ, softmax input, ·V) runs in for a layer of ``compute_dtype``.

    The compute dtype itself, except bfloat16 on TensorFlow on a CPU without native bfloat16 (no GPU and
    none of ``BF16_CPU_FLAGS``): TensorFlow's CPU ``BatchMatMul`` in bfloat16 measured 20x slower than
    float32 on an AVX2-only CPU (while 2-D bfloat16 matmuls were faster), so there only the core runs in
    float32. With ``avx512_bf16`` oneDNN's bfloat16 ``BatchMatMul`` was 1.8x faster than float32. The
    environment variable ``ZOO_ATTENTION_CORE_DTYPE`` (``float32`` or ``compute``) overrides the choice.

    Args:
        compute_dtype: The layer's compute dtype name.
        flags: CPU flags to decide by; ``None`` reads this machine's.

    Example:
        >>> attention_core_dtype("float32")
        'float32'
    """
    override = os.environ.get(ATTENTION_CORE_ENV)
    if override:
        if override not in _CORE_CHOICES:
            raise ValueError(f"environment variable {ATTENTION_CORE_ENV}={override!r} must be one of "
                             f"{', '.join(_CORE_CHOICES)} (or unset to decide by the CPU)")
        return "float32" if override == "float32" else compute_dtype
    if compute_dtype != "bfloat16" or keras.backend.backend() != "tensorflow":
        return compute_dtype
    if native_bf16_flags(flags) or keras.distribution.list_devices("gpu"):
        return compute_dtype
    return "float32"
