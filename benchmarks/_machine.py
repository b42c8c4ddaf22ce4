"""One line naming the machine a benchmark ran on, printed first by every benchmark here.

Speed figures mean little without the CPU they were measured on (the same kernels ran 1.03×
PyTorch on an AMD Zen 4 and 0.66× on an Intel Xeon), so each benchmark prints the CPU model,
the cores this process may use, and the SIMD width Numba compiled scratchnet's kernels for
(:mod:`scratchnet._vector_width`).
"""
import os
import platform


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe():
    """``CPU: <model>, <n> cores for this process; Numba kernels: <vector width>``."""
    from scratchnet import _vector_width
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return f"CPU: {cpu_model()}, {cores} cores for this process; Numba kernels: " \
           f"{_vector_width.STATUS}"
