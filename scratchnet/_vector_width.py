r"""Which SIMD width Numba compiles scratchnet's kernels for: the CPU's full width, by default.

Why this file exists
--------------------
Numba hands every kernel to LLVM, which tunes the machine code for the CPU it runs on. For
Intel's AVX-512 server CPUs (Skylake-SP, Cascade Lake, Ice Lake, Sapphire, Emerald and Granite
Rapids) LLVM's tuning includes ``prefer-256-bit``: its auto-vectoriser then emits 256-bit
instructions (8 floats) although the CPU has 512-bit registers (16 floats). The rule dates from
the first AVX-512 chips, whose cores slowed their clock while running 512-bit code, so that
programs with only a little vector code ran slower overall. For AMD's Zen 4 LLVM has no such
preference and emits 512-bit code.

scratchnet's kernels are the opposite of "a little vector code": a training step is long loops
of multiply-adds over contiguous rows (:mod:`scratchnet.nn.functional.taps`), where the full
width does twice the work per instruction. The same tree measured 1.03× PyTorch's conv
autoencoder on a Zen 4 and 0.66× on a Xeon with AVX-512, and the machine code explains it: the
conv kernels compiled for ``skylake-avx512``, ``icelake-server`` or ``sapphirerapids`` contain
no 512-bit (``zmm``) instruction at all, those compiled for ``znver4`` nearly only those
(``tests/test_vector_width.py`` checks both). PyTorch's oneDNN kernels use 512 bits on both.

What it does
------------
:func:`configure` runs when ``scratchnet`` is imported, before Numba has compiled anything. On a
CPU with AVX-512 it gives Numba the host's own feature list with ``-prefer-256-bit`` added
(through ``NUMBA_CPU_FEATURES``, which Numba reads when it first compiles), so LLVM uses the
whole register. Nothing else about the code changes: same instructions sets, same CPU tuning,
and Numba's on-disk cache keeps the kernels of each setting apart (the feature list is part of
its cache key).

The choice is the user's to override, with the environment variable
``SCRATCHNET_VECTOR_WIDTH``:

* ``auto`` (the default): the full width where the CPU has AVX-512, else LLVM's choice;
* ``256``: 256-bit vectors even on a CPU with AVX-512 (``+prefer-256-bit``) — to measure both
  widths on one machine, e.g. ``benchmarks/bench_nn.py`` run once with each;
* ``llvm``: leave LLVM's tuning alone.

It does nothing when the user set ``NUMBA_CPU_FEATURES`` (theirs wins; one ending in
``±prefer-256-bit`` is this module's own, inherited by a child process, and reported so) or
``NUMBA_CPU_NAME=generic``, or when Numba built its CPU target before ``scratchnet`` was
imported: Numba creates its LLVM target machine once, when the first ``@njit`` function is
*defined*, so the width is fixed for the process from then on. (``NUMBA_CPU_NAME`` alone is
respected and combined with this: e.g. ``NUMBA_CPU_NAME=sapphirerapids`` on a Zen 4 shows here
what a Xeon would get.)
:data:`STATUS` says which happened; the benchmarks print it beside the CPU.
"""
import os

_CHOICES = ("auto", "256", "llvm")

STATUS = "not configured"  # set by configure(): what this process's kernels are compiled for


def _numba_has_compiled():
    """True once Numba's CPU target (and so its LLVM target machine) exists in this process."""
    import sys
    registry = sys.modules.get("numba.core.registry")
    if registry is None:
        return False
    return "_toplevel_target_context" in vars(registry.cpu_target)  # a cached_property, once set


def _host_features():
    """The host CPU's LLVM feature list, as Numba would use it (``+avx512f,+fma,...``)."""
    from numba.core.codegen import get_host_cpu_features
    return get_host_cpu_features()


def configure(environ=os.environ):
    """Choose the vector width before Numba compiles anything; return (and keep) a status line."""
    global STATUS
    choice = environ.get("SCRATCHNET_VECTOR_WIDTH", "auto").strip().lower() or "auto"
    if choice not in _CHOICES:
        raise ValueError(f"SCRATCHNET_VECTOR_WIDTH: expected one of {', '.join(_CHOICES)}, "
                         f"got {choice!r}")
    inherited = environ.get("NUMBA_CPU_FEATURES", "")
    if choice == "llvm":
        STATUS = "LLVM's own choice (SCRATCHNET_VECTOR_WIDTH=llvm)"
    elif inherited.endswith(("-prefer-256-bit", "+prefer-256-bit")):
        # set by scratchnet in a parent process (the environment is inherited): same choice
        wide = inherited.endswith("-prefer-256-bit")
        STATUS = (f"{512 if wide else 256}-bit vectors (AVX-512, set by the parent process)")
    elif inherited or \
            environ.get("NUMBA_CPU_NAME", "").lower() == "generic":
        STATUS = "the user's NUMBA_CPU_FEATURES / NUMBA_CPU_NAME"
    elif _numba_has_compiled():
        STATUS = ("LLVM's own choice (Numba compiled code before scratchnet was imported, "
                  "so its target was already fixed)")
    else:
        features = _host_features()
        if "+avx512f" not in features.split(","):
            STATUS = "LLVM's own choice (no AVX-512 on this CPU)"
        elif choice == "256":
            _set_features(environ, features + ",+prefer-256-bit")
            STATUS = "256-bit vectors (SCRATCHNET_VECTOR_WIDTH=256)"
        else:
            _set_features(environ, features + ",-prefer-256-bit")
            STATUS = "512-bit vectors (AVX-512, LLVM's prefer-256-bit turned off)"
    return STATUS


def _set_features(environ, features):
    """Hand Numba the feature list: in its config now, and in the environment, which Numba
    re-reads before each compilation (so the two must agree) and child processes inherit."""
    environ["NUMBA_CPU_FEATURES"] = features
    if environ is os.environ:
        from numba.core import config
        config.CPU_FEATURES = features
