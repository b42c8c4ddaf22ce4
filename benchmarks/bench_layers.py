"""Where the CIFAR conv autoencoder's training step spends its time, layer by layer, against
PyTorch channels-last (oneDNN) layer by layer.

``bench_nn.py`` times whole steps; this one times each layer's forward and its backward alone,
on one thread, on 128 images: what each of the two threads runs in scratchnet's step (which
gives every core a slice of the batch, see ``scratchnet/nn/_parallel.py``). PyTorch runs the
same layer (same shapes, same weights' shapes, channels-last tensors) with
``torch.set_num_threads(1)``. The backward of the first convolution is the weight gradient
only, on both sides (nothing needs the gradient of the images). Rounds alternate between the
sides; the table gives medians in milliseconds and ours / torch.

    python benchmarks/bench_layers.py
    python benchmarks/bench_layers.py --backend im2col   # scratchnet's im2col + GEMM path
    python benchmarks/bench_layers.py --quick      # smoke run

Measured 2026-12-07, Intel Xeon (AVX-512), 2 cores (one used), ``python
benchmarks/bench_layers.py``: forward + backward per layer, ours / oneDNN's, in ms: Conv2D 3→8
(32→16) 1.37 / 1.16, Conv2D 8→16 (16→8) 2.36 / 1.91, Conv2D 16→32 (8→4) 1.95 / 1.33,
Conv2DTranspose 32→32 (4→8) 4.19 / 1.94 (2.2x), 32→16 (8→16) 6.68 / 3.78 (1.8x), 16→8 (16→32)
5.95 / 5.93, 8→3 (32→32) 5.00 / 5.80; the ReLUs 0.2-0.6x of PyTorch's; in all 30.1 / 26.0 ms,
1.16x. What is left is the small maps with many channels: at 4×4 and 8×8 the phase-grid loops
run over a few dozen pixels per tap, where oneDNN's blocking over channels keeps its vector
units full. ``--backend im2col`` was slower on every layer (73 ms in all).

Name the CPU (``lscpu``) beside any figure quoted from it.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _machine  # noqa: E402  (benchmarks/_machine.py)
import bench_nn  # noqa: E402  (the same model, built the same way)

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None


def _median_ms(fn, repeats):
    """Median wall time of ``fn()`` over ``repeats`` calls, in ms (one call first, untimed)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def ours(batch, rng):
    """Per layer: (name, forward(), backward()) closures on that layer's own input."""
    model, _, shape = bench_nn.cifar_ae()
    x = rng.random((batch,) + shape, dtype=np.float32)
    rows = []
    for i, layer in enumerate(model.layers):
        y = layer.forward(x)
        g = rng.standard_normal(y.shape).astype(np.float32)

        def forward(layer=layer, x=x):
            layer.forward(x)

        def backward(layer=layer, x=x, g=g, first=(i == 0)):
            layer.forward(x)               # the caches backward reads (not timed apart)
            if first and hasattr(layer, "backward_params"):
                layer.backward_params(g)
            else:
                layer.backward(g)
        rows.append((f"{i} {layer.name}", forward, backward))
        x = y
    return rows


def theirs(batch, rng):
    """The same per-layer closures for PyTorch's model, channels-last."""
    model, _ = bench_nn.torch_model("cifar")
    model = model.to(memory_format=torch.channels_last)
    x = torch.from_numpy(rng.random((batch, 3, 32, 32), dtype=np.float32)).contiguous(
        memory_format=torch.channels_last)
    rows = []
    for i, module in enumerate(model):
        with torch.no_grad():
            y = module(x)
        g = torch.from_numpy(rng.standard_normal(tuple(y.shape)).astype(np.float32)).contiguous(
            memory_format=torch.channels_last)
        inp = x.detach().clone().requires_grad_(i > 0)

        def forward(module=module, inp=inp):
            module(inp)

        def backward(module=module, inp=inp, g=g):
            module(inp).backward(g)        # forward included; subtracted below
        rows.append((type(module).__name__, forward, backward))
        x = y
    return rows


def _row(name, cells):
    a = cells["ours"]
    b = cells.get("torch", np.full(3, np.nan))
    ratio = a[2] / b[2] if b[2] > 0 else float("nan")
    return (f"{name:<22}{a[0]:>10.2f}{b[0]:>8.2f}{a[1]:>10.2f}{b[1]:>8.2f}{a[2]:>10.2f}"
            f"{b[2]:>8.2f}{ratio:>7.2f}x")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--backend", choices=["phase", "im2col"], default="phase",
                   help="scratchnet's convolution backend (scratchnet.nn.functional.set_backend)")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 round, 2 repeats")
    args = p.parse_args(argv)
    from scratchnet.nn import functional
    functional.set_backend(args.backend)
    if args.quick:
        args.rounds, args.repeats = 1, 2
    print(_machine.describe())
    rng = np.random.default_rng(0)
    sides = {"ours": ours(args.batch, rng)}
    if torch is not None:
        torch.set_num_threads(1)
        sides["torch"] = theirs(args.batch, rng)
    else:
        print("PyTorch is not installed (pip install torch): scratchnet's column only")
    times = {side: [[[], []] for _ in rows] for side, rows in sides.items()}
    with threadpool_limits(limits=1):
        for _ in range(args.rounds):
            for side, rows in sides.items():
                for k, (_, forward, backward) in enumerate(rows):
                    f = _median_ms(forward, args.repeats)
                    times[side][k][0].append(f)
                    times[side][k][1].append(max(_median_ms(backward, args.repeats) - f, 0.0))
    med = {side: [[statistics.median(t) for t in row] for row in rows]
           for side, rows in times.items()}
    print(f"\nbatch {args.batch}, backend {args.backend!r}, 1 thread each, medians of {args.rounds} rounds (ms); a "
          "layer's forward may prepare what its backward reuses, so compare the sums")
    print(f"{'layer':<22}{'fwd ours':>10}{'torch':>8}{'bwd ours':>10}{'torch':>8}"
          f"{'sum ours':>10}{'torch':>8}{'ratio':>8}")
    total = {side: np.zeros(3) for side in med}
    for k, (name, _, _) in enumerate(sides["ours"]):
        cells = {side: np.array(med[side][k] + [sum(med[side][k])]) for side in med}
        for side in med:
            total[side] += cells[side]
        print(_row(name, cells))
    print(_row("total", total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
