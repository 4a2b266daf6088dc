"""Resolve ``training.precision`` (including ``auto``) to a Keras dtype policy."""
import keras
import tensorflow as tf

from zoo.config import PRECISIONS
from zoo.hardware import (BF16_CPU_FLAGS, FP16_CPU_FLAGS, attention_core_dtype, cpu_flags, native_bf16_flags,
                          native_fp16_flags)


def resolve_precision(precision="auto"):
    """Return the dtype policy name for ``precision``; ``auto`` picks by hardware.

    ``auto``: ``mixed_bfloat16`` on GPUs of compute capability 8.0+ and on CPUs with native bfloat16
    (AMX or AVX512-BF16), else ``float32``. Never ``mixed_float16``: no test or benchmark trains with its loss
    scaling, and layer-wise decay and encoder scales do not support it; ask for it explicitly.

    Args:
        precision: ``float32``, ``mixed_bfloat16``, ``mixed_float16`` or ``auto``.

    Example:
        >>> resolve_precision("float32")
        'float32'
    """
    if precision not in PRECISIONS:
        raise ValueError(f"training.precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
        return "mixed_bfloat16" if capability >= (8, 0) else "float32"
    return _auto_on_cpu(native_bf16_flags(cpu_flags()))


def _auto_on_cpu(bf16_flags):
    """What ``auto`` picks without a GPU, on a CPU with the native bfloat16 flags ``bf16_flags``."""
    return "mixed_bfloat16" if bf16_flags else "float32"


def precision_report(precision, policy, saved=None):
    """Return what ``training.precision`` resolved to and the facts that decided it (for ``metrics.json``).

    Args:
        precision: The configured ``training.precision``.
        policy: The policy ``resolve_precision(precision)`` returned.
        saved: The policy in the checkpoints of the run being resumed (``saved_precision``), or ``None``: a
            resume keeps it, so the run goes on in the precision it began in.

    Returns:
        ``{"requested", "policy", "kept_from_checkpoint", "attention_core_dtype", "cpu_bf16_flags",
        "cpu_flags_checked", "gpus"}``: the CPU flags of ``cpu_flags_checked`` that this machine has decide
        ``auto`` on a CPU (``kept_from_checkpoint``: a resume kept another policy than they decide), and, under
        bfloat16, whether the attention core stays in bfloat16 (``zoo.hardware.attention_core_dtype``).

    Example:
        >>> precision_report("float32", "float32")["attention_core_dtype"]
        'float32'
    """
    flags = cpu_flags()
    kept = saved is not None and saved != policy
    policy = saved if kept else policy
    compute = keras.mixed_precision.Policy(policy).compute_dtype
    return {"requested": precision, "policy": policy, "kept_from_checkpoint": kept,
            "attention_core_dtype": attention_core_dtype(compute, flags),
            "cpu_bf16_flags": native_bf16_flags(flags), "cpu_flags_checked": list(BF16_CPU_FLAGS),
            "gpus": len(tf.config.list_physical_devices("GPU"))}


def precision_summary(report):
    """Return the progress line that says which precision a run trains in and why.

    Args:
        report: What ``precision_report`` returned.

    Example:
        >>> precision_summary({"requested": "auto", "policy": "float32", "kept_from_checkpoint": False,
        ...                    "attention_core_dtype": "float32", "cpu_bf16_flags": [],
        ...                    "cpu_flags_checked": ["amx_bf16", "avx512_bf16"], "gpus": 0})
        'precision float32 (auto: no GPU, and the CPU has none of amx_bf16, avx512_bf16)'
    """
    if report["kept_from_checkpoint"]:
        why = (f"training.precision: {report['requested']}, kept from the checkpoint this run resumes: it chose "
               "otherwise on this machine")
    elif report["requested"] != "auto":
        why = f"training.precision: {report['requested']}"  # the default or the user's value: not "requested"
    elif report["gpus"]:
        why = f"auto: {report['gpus']} GPU(s)"
    elif report["cpu_bf16_flags"]:
        why = f"auto: the CPU has {', '.join(report['cpu_bf16_flags'])}"
    else:
        why = f"auto: no GPU, and the CPU has none of {', '.join(report['cpu_flags_checked'])}"
    line = f"precision {report['policy']} ({why})"
    if report["policy"] == "mixed_bfloat16":
        line += f", attention core in {report['attention_core_dtype']}"
    elif report["requested"] == "float32" and report["cpu_bf16_flags"]:
        # float32 is the default; a user on such a CPU may not know a faster choice is there.
        line += (f"; this CPU computes bfloat16 natively ({', '.join(report['cpu_bf16_flags'])}): "
                 "training.precision: auto would train in mixed_bfloat16, faster")
    return line


def emulated_bfloat16_warning(report):
    """Return a warning when the run trains in bfloat16 that this machine only emulates, else ``None``.

    Without a GPU or one of ``BF16_CPU_FLAGS`` TensorFlow converts bfloat16 through float32: on an AVX2-only
    CPU zoo's ``mixed_bfloat16`` step ran at 0.94x its float32 rate, keras-hub's at 0.30x (BENCHMARKS.md).

    Args:
        report: What ``precision_report`` returned.

    Example:
        >>> print(emulated_bfloat16_warning({"requested": "auto", "policy": "float32", "gpus": 0,
        ...                                  "cpu_bf16_flags": []}))
        None
        >>> print(emulated_bfloat16_warning({"requested": "mixed_bfloat16", "policy": "mixed_bfloat16", "gpus": 0,
        ...                                  "kept_from_checkpoint": False, "cpu_bf16_flags": [],
        ...                                  "cpu_flags_checked": ["avx512_bf16"]}))
        training.precision: mixed_bfloat16 trains in bfloat16, which this CPU emulates (it has none of avx512_bf16):
        expect it to be slower than float32, not faster; training.precision: auto picks float32 here
    """
    if report["policy"] != "mixed_bfloat16" or report["gpus"] or report["cpu_bf16_flags"]:
        return None
    if report["kept_from_checkpoint"]:
        return (f"this run resumes in bfloat16, the precision it began in, which this CPU emulates (it has none of "
                f"{', '.join(report['cpu_flags_checked'])}): expect it to be slower than float32; set "
                "output.overwrite: true to start the run afresh in float32")
    return (f"training.precision: {report['requested']} trains in bfloat16, which this CPU emulates (it has "
            f"none of {', '.join(report['cpu_flags_checked'])}): expect it to be slower than float32, not "
            f"faster; training.precision: auto picks float32 here")


def cpu_float16_warning(report, flags=None):
    """Return a warning when the run trains in ``mixed_float16`` without a GPU, else ``None``.

    float16 with loss scaling is a GPU precision: without one of ``FP16_CPU_FLAGS`` TensorFlow computes float16
    through float32 conversions; with them (an ``avx512_fp16`` Xeon) its float16 and bfloat16 batched matmuls
    ran as fast, and bfloat16 needs no loss scaling.

    Args:
        report: What ``precision_report`` returned.
        flags: CPU flags to decide by; ``None`` reads this machine's.

    Example:
        >>> print(cpu_float16_warning({"policy": "mixed_float16", "gpus": 0, "cpu_bf16_flags": []}, {"avx2"}))
        training.precision: mixed_float16 is meant for GPUs, and this run has none: this CPU has none of amx_fp16,
        avx512_fp16, so TensorFlow emulates float16 (expect it to be slower than float32); training.precision: auto
        picks float32 on this CPU (--set training.precision=auto)
    """
    if report["policy"] != "mixed_float16" or report["gpus"]:
        return None
    native = native_fp16_flags(cpu_flags() if flags is None else flags)
    if native:
        why = (f"this CPU computes float16 natively ({', '.join(native)}), but mixed_float16 adds loss scaling, "
               "which bfloat16 does not need")
    else:
        why = (f"this CPU has none of {', '.join(FP16_CPU_FLAGS)}, so TensorFlow emulates float16 (expect it to be "
               "slower than float32)")
    return (f"training.precision: mixed_float16 is meant for GPUs, and this run has none: {why}; training.precision: "
            f"auto picks {_auto_on_cpu(report['cpu_bf16_flags'])} on this CPU (--set training.precision=auto)")


def precision_warnings(report):
    """Return the warnings the precision of ``report`` (``precision_report``) calls for: bfloat16 that this CPU
    emulates, float16 without a GPU; ``zoo train`` and ``zoo tune`` log them.

    Example:
        >>> precision_warnings({"policy": "float32", "gpus": 0, "cpu_bf16_flags": []})
        []
    """
    return [warning for warning in (emulated_bfloat16_warning(report), cpu_float16_warning(report)) if warning]
