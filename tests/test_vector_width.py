"""The SIMD width Numba compiles the kernels for (scratchnet/_vector_width.py).

LLVM tunes Intel's AVX-512 server CPUs for 256-bit vectors; scratchnet turns that preference
off so its multiply-add loops use the whole 512-bit register. The subprocess test compiles a
conv kernel for an Intel CPU name and reads the machine code: without the change it has no
512-bit (zmm) instruction, with it, it has.
"""
import importlib
import os
import subprocess
import sys

import pytest

from scratchnet import _vector_width

HOST_FEATURES = "+64bit,+avx,+avx2,+avx512f,+fma,-amx-tile"


@pytest.fixture
def fresh_numba(monkeypatch):
    """Pretend Numba has not built its target yet, with a host that has AVX-512."""
    monkeypatch.setattr(_vector_width, "_numba_has_compiled", lambda: False)
    monkeypatch.setattr(_vector_width, "_host_features", lambda: HOST_FEATURES)


def test_avx512_host_gets_the_full_width(fresh_numba):
    env = {}
    status = _vector_width.configure(env)
    assert env["NUMBA_CPU_FEATURES"] == HOST_FEATURES + ",-prefer-256-bit"
    assert status.startswith("512-bit") and _vector_width.STATUS == status


def test_256_forces_the_narrow_width(fresh_numba):
    env = {"SCRATCHNET_VECTOR_WIDTH": "256"}
    assert _vector_width.configure(env).startswith("256-bit")
    assert env["NUMBA_CPU_FEATURES"] == HOST_FEATURES + ",+prefer-256-bit"


@pytest.mark.parametrize("env", [{"SCRATCHNET_VECTOR_WIDTH": "llvm"},
                                 {"NUMBA_CPU_FEATURES": "+avx2"},
                                 {"NUMBA_CPU_NAME": "generic"}])
def test_left_alone_when_asked_or_set_by_the_user(fresh_numba, env):
    before = dict(env)
    _vector_width.configure(env)
    assert env == before


def test_no_avx512_no_change(monkeypatch):
    monkeypatch.setattr(_vector_width, "_numba_has_compiled", lambda: False)
    monkeypatch.setattr(_vector_width, "_host_features", lambda: "+avx,+avx2,-avx512f,+fma")
    env = {}
    assert "no AVX-512" in _vector_width.configure(env)
    assert env == {}


def test_too_late_once_numba_has_compiled():
    # defining a kernel builds Numba's target
    importlib.import_module("scratchnet.nn.functional.taps")
    env = {}
    assert "already fixed" in _vector_width.configure(env)
    assert env == {}


def test_bad_value_names_the_choices(fresh_numba):
    with pytest.raises(ValueError, match=r"SCRATCHNET_VECTOR_WIDTH: expected one of auto, "
                                         r"256, llvm, got '1024'"):
        _vector_width.configure({"SCRATCHNET_VECTOR_WIDTH": "1024"})


_PROBE = """
import re, numpy as np
import scratchnet
from scratchnet import _vector_width
from scratchnet.nn.functional import conv2d, taps
x = np.ones((2, 3, 8, 8), np.float32); w = np.ones((4, 3, 3, 3), np.float32)
conv2d(x, w, np.zeros(4, np.float32), 2, (0, 1, 0, 1))
asm = "".join(taps._taps_forward_kernel.inspect_asm().values())
print(len(re.findall("zmm", asm)), _vector_width.STATUS)
"""


def _zmm_count(tmp_path, width):
    env = dict(os.environ, NUMBA_CPU_NAME="skylake-avx512", SCRATCHNET_VECTOR_WIDTH=width,
               NUMBA_CACHE_DIR=str(tmp_path / width))
    env.pop("NUMBA_CPU_FEATURES", None)
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                         text=True, check=True).stdout
    count, status = out.strip().split(" ", 1)
    return int(count), status


def test_intel_tuning_gets_512_bit_code(tmp_path):
    import llvmlite.binding as ll
    if not ll.get_host_cpu_features().get("avx512f", False):
        pytest.skip("this CPU has no AVX-512: the probe's kernel could not run here")
    narrow, status_narrow = _zmm_count(tmp_path, "llvm")
    wide, status_wide = _zmm_count(tmp_path, "auto")
    assert narrow == 0, status_narrow  # LLVM's skylake-avx512 tuning: 256-bit only
    assert wide > 50, status_wide
    assert status_wide.startswith("512-bit")


def test_a_child_process_reports_the_inherited_choice(fresh_numba):
    env = {"NUMBA_CPU_FEATURES": HOST_FEATURES + ",-prefer-256-bit"}
    assert _vector_width.configure(env).startswith("512-bit vectors")
    assert env == {"NUMBA_CPU_FEATURES": HOST_FEATURES + ",-prefer-256-bit"}
