import pytest
import tensorflow as tf

import zoo.training.precision as precision
from zoo.training.precision import precision_report, resolve_precision


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
    assert report == {"requested": "auto", "policy": policy, "attention_core_dtype": core,
                      "cpu_bf16_flags": bf16_flags, "cpu_flags_checked": ["amx_bf16", "avx512_bf16"], "gpus": 0}


def test_mixed_bfloat16_on_an_avx2_cpu_keeps_the_attention_core_in_float32(monkeypatch):
    monkeypatch.delenv("ZOO_ATTENTION_CORE_DTYPE", raising=False)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2"})
    assert precision_report("mixed_bfloat16", "mixed_bfloat16")["attention_core_dtype"] == "float32"
