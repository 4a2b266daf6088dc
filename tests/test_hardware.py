from pathlib import Path

import keras
import pytest

from zoo import hardware


def test_native_bf16_flags_are_the_bfloat16_ones_present():
    assert hardware.native_bf16_flags({"avx2", "fma"}) == []
    assert hardware.native_bf16_flags({"avx512f", "avx512_bf16", "amx_bf16"}) == ["amx_bf16", "avx512_bf16"]


def test_native_fp16_flags_are_the_float16_ones_present():
    assert hardware.native_fp16_flags({"avx2", "f16c", "avx512_bf16"}) == []
    assert hardware.native_fp16_flags({"avx512_fp16", "amx_fp16", "amx_bf16"}) == ["amx_fp16", "avx512_fp16"]


def test_cpu_flags_reads_this_machine():
    info = Path("/proc/cpuinfo")
    if not info.exists():
        pytest.skip("no /proc/cpuinfo on this machine")
    lines = [line for line in info.read_text(errors="replace").splitlines() if line.split(":")[0].strip() == "flags"]
    if not lines:
        pytest.skip("/proc/cpuinfo has no flags line here (not x86)")
    expected = set(lines[0].split(":", 1)[1].split())
    assert expected, "the flags line lists no flags"
    assert hardware.cpu_flags() == expected
    assert hardware.native_bf16_flags() == sorted(expected & {"avx512_bf16", "amx_bf16"})
    assert hardware.native_fp16_flags() == sorted(expected & {"avx512_fp16", "amx_fp16"})


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the float32 core is a TensorFlow CPU rule")
def test_bfloat16_attention_core_only_where_the_cpu_computes_it(monkeypatch):
    monkeypatch.delenv(hardware.ATTENTION_CORE_ENV, raising=False)
    if keras.distribution.list_devices("gpu"):
        pytest.skip("a GPU computes bfloat16 whatever the CPU flags")
    assert hardware.attention_core_dtype("bfloat16", flags={"avx2", "fma"}) == "float32"
    assert hardware.attention_core_dtype("bfloat16", flags={"avx2", "avx512_bf16"}) == "bfloat16"
    assert hardware.attention_core_dtype("bfloat16", flags={"amx_bf16"}) == "bfloat16"
    assert hardware.attention_core_dtype("float32", flags={"avx2"}) == "float32"
    assert hardware.attention_core_dtype("float16", flags={"avx2"}) == "float16"


def test_attention_core_override_and_its_error(monkeypatch):
    monkeypatch.setenv(hardware.ATTENTION_CORE_ENV, "float32")
    assert hardware.attention_core_dtype("bfloat16", flags={"avx512_bf16"}) == "float32"
    monkeypatch.setenv(hardware.ATTENTION_CORE_ENV, "compute")
    assert hardware.attention_core_dtype("bfloat16", flags={"avx2"}) == "bfloat16"
    monkeypatch.setenv(hardware.ATTENTION_CORE_ENV, "half")
    with pytest.raises(ValueError, match="ZOO_ATTENTION_CORE_DTYPE='half' must be one of float32, compute"):
        hardware.attention_core_dtype("bfloat16")
