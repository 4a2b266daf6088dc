import pytest
import tensorflow as tf

import zoo.training.precision as precision
from zoo.training.precision import (cpu_float16_warning, emulated_bfloat16_warning, precision_report,
                                    precision_summary, resolve_precision)


@pytest.mark.parametrize("flags, policy, core, bf16_flags", [
    ({"avx2", "fma"}, "float32", "float32", []),
    ({"avx2", "avx512_bf16"}, "mixed_bfloat16", "bfloat16", ["avx512_bf16"]),
])
def test_auto_precision_report_names_the_deciding_cpu_flags(monkeypatch, flags, policy, core, bf16_flags):
    monkeypatch.delenv("ZOO_ATTENTION_CORE_DTYPE", raising=False)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(precision, "cpu_flags", lambda: flags)
    chosen = resolve_precision("auto")
    report = precision_report("auto", chosen)
    assert report == {"requested": "auto", "policy": policy, "kept_from_checkpoint": False,
                      "attention_core_dtype": core, "cpu_bf16_flags": bf16_flags,
                      "cpu_flags_checked": ["amx_bf16", "avx512_bf16"], "gpus": 0}


def test_mixed_bfloat16_on_an_avx2_cpu_keeps_the_attention_core_in_float32(monkeypatch):
    monkeypatch.delenv("ZOO_ATTENTION_CORE_DTYPE", raising=False)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2"})
    assert precision_report("mixed_bfloat16", "mixed_bfloat16")["attention_core_dtype"] == "float32"


def _report_on(monkeypatch, flags, requested):
    monkeypatch.delenv("ZOO_ATTENTION_CORE_DTYPE", raising=False)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(precision, "cpu_flags", lambda: flags)
    return precision_report(requested, resolve_precision(requested))


@pytest.mark.parametrize("flags, requested, line", [
    ({"avx2"}, "auto", "precision float32 (auto: no GPU, and the CPU has none of amx_bf16, avx512_bf16)"),
    ({"avx2", "avx512_bf16"}, "auto",
     "precision mixed_bfloat16 (auto: the CPU has avx512_bf16), attention core in bfloat16"),
    ({"avx2"}, "mixed_bfloat16",
     "precision mixed_bfloat16 (training.precision: mixed_bfloat16), attention core in float32"),
    ({"avx2", "avx512_bf16"}, "float32", "precision float32 (training.precision: float32); this CPU computes "
     "bfloat16 natively (avx512_bf16): training.precision: auto would train in mixed_bfloat16, faster"),
    ({"avx2"}, "float32", "precision float32 (training.precision: float32)"),
])
def test_the_precision_line_says_what_runs_and_why(monkeypatch, flags, requested, line):
    assert precision_summary(_report_on(monkeypatch, flags, requested)) == line


def test_bfloat16_on_a_cpu_that_emulates_it_warns_and_native_bfloat16_does_not(monkeypatch):
    warning = emulated_bfloat16_warning(_report_on(monkeypatch, {"avx2", "fma"}, "mixed_bfloat16"))
    assert "training.precision: mixed_bfloat16 trains in bfloat16, which this CPU emulates" in warning
    assert "training.precision: auto picks float32 here" in warning
    assert emulated_bfloat16_warning(_report_on(monkeypatch, {"avx2", "avx512_bf16"}, "mixed_bfloat16")) is None
    assert emulated_bfloat16_warning(_report_on(monkeypatch, {"avx2"}, "auto")) is None
    assert emulated_bfloat16_warning(_report_on(monkeypatch, {"avx2"}, "float32")) is None


@pytest.mark.parametrize("capability, policy", [((7, 0), "float32"), ((7, 5), "float32"), ((8, 0), "mixed_bfloat16"),
                                                ((9, 0), "mixed_bfloat16")])
def test_auto_on_a_gpu_is_bfloat16_where_native_and_float32_elsewhere(monkeypatch, capability, policy):
    # README: auto never picks mixed_float16, which layer-wise decay and encoder scales reject.
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"] if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda device: {"compute_capability": capability})
    assert resolve_precision("auto") == policy


def test_a_resume_keeps_the_saved_policy_and_says_so(monkeypatch):
    # Began where auto chose mixed_bfloat16; resumed on an AVX2-only CPU, where auto chooses float32.
    report = _report_on(monkeypatch, {"avx2"}, "auto")
    kept = precision_report("auto", report["policy"], saved="mixed_bfloat16")
    assert kept["policy"] == "mixed_bfloat16" and kept["kept_from_checkpoint"]
    assert kept["attention_core_dtype"] == "float32"  # decided by this CPU
    assert precision_summary(kept) == ("precision mixed_bfloat16 (training.precision: auto, kept from the checkpoint "
                                       "this run resumes: it chose otherwise on this machine), attention core in "
                                       "float32")
    assert emulated_bfloat16_warning(kept).startswith("this run resumes in bfloat16, the precision it began in, which "
                                                      "this CPU emulates")
    assert not precision_report("auto", "float32", saved="float32")["kept_from_checkpoint"]


@pytest.mark.parametrize("flags, why, auto", [
    ({"avx2", "f16c"}, "this CPU has none of amx_fp16, avx512_fp16, so TensorFlow emulates float16 (expect it to be "
     "slower than float32)", "float32"),
    ({"avx512_fp16", "avx512_bf16", "amx_bf16"}, "this CPU computes float16 natively (avx512_fp16), but "
     "mixed_float16 adds loss scaling, which bfloat16 does not need", "mixed_bfloat16"),
])
def test_mixed_float16_without_a_gpu_warns_naming_what_auto_picks_here(monkeypatch, flags, why, auto):
    report = _report_on(monkeypatch, flags, "mixed_float16")
    assert cpu_float16_warning(report) == (f"training.precision: mixed_float16 is meant for GPUs, and this run has "
                                           f"none: {why}; training.precision: auto picks {auto} on this CPU (--set "
                                           "training.precision=auto)")
    assert resolve_precision("auto") == auto
    assert emulated_bfloat16_warning(report) is None
    for requested in ("auto", "float32", "mixed_bfloat16"):
        assert cpu_float16_warning(_report_on(monkeypatch, flags, requested)) is None
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"] if kind == "GPU" else [])
    assert cpu_float16_warning(precision_report("mixed_float16", "mixed_float16")) is None
