"""Training throughput of scratchnet's autoencoders, side by side with PyTorch when installed.

One training step = forward + loss + backward + Adam step, float32, batch 256, reported in
images per second for:

* the CIFAR conv autoencoder (Conv2D 3→8→16→32 stride 2, Conv2DTranspose 32→32→16→8 stride 2,
  Conv2DTranspose 8→3; ReLU, sigmoid output, MSE);
* the MNIST pooling autoencoder (Conv 1→16, MaxPool, Conv 16→2, MaxPool, Conv 2→2, UpSample,
  Conv 2→16, UpSample, Conv 16→1; ReLU, sigmoid output, BCE);
* the dense 784-500-500-2000-10 autoencoder (ReLU, linear bottleneck and output, MSE).

This machine's speed drifts by ±30% within minutes, so the two libraries are timed in
interleaved rounds (scratchnet, torch NCHW, torch channels-last, repeat) and the table reports
the median of the per-round ratios. Both use the same number of threads. PyTorch is optional:
without it the comparison columns are skipped.

Usage::

    python benchmarks/bench_nn.py            # about 3 minutes
    python benchmarks/bench_nn.py --quick    # smoke run, a few seconds per model
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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for _machine
import _machine  # noqa: E402  (benchmarks/_machine.py)

from scratchnet.nn import (BCELoss, Adam, Conv2D, Conv2DTranspose, Dense, MaxPool2D,  # noqa: E402
                           MSELoss, ReLU, Sequential, Sigmoid, UpSampling2D)
from scratchnet.nn._parallel import ParallelStep, default_threads  # noqa: E402

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None

DENSE_DIMS = (784, 500, 500, 2000, 10)


# ---- the three models, in scratchnet and in PyTorch -------------------------------------------
def cifar_ae(rs=0):
    layers = [Conv2D(3, 8, 3, 2, random_state=rs), ReLU(),
              Conv2D(8, 16, 3, 2, random_state=rs + 1), ReLU(),
              Conv2D(16, 32, 3, 2, random_state=rs + 2), ReLU(),
              Conv2DTranspose(32, 32, 3, 2, random_state=rs + 3), ReLU(),
              Conv2DTranspose(32, 16, 3, 2, random_state=rs + 4), ReLU(),
              Conv2DTranspose(16, 8, 3, 2, random_state=rs + 5), ReLU(),
              Conv2DTranspose(8, 3, 3, 1, random_state=rs + 6), Sigmoid()]
    return Sequential(layers), MSELoss(), (3, 32, 32)


def mnist_pool_ae(rs=0):
    layers = [Conv2D(1, 16, 3, random_state=rs), ReLU(), MaxPool2D(2, "same"),
              Conv2D(16, 2, 3, random_state=rs + 1), ReLU(), MaxPool2D(2, "same"),
              Conv2D(2, 2, 3, random_state=rs + 2), ReLU(), UpSampling2D(2),
              Conv2D(2, 16, 3, random_state=rs + 3), ReLU(), UpSampling2D(2),
              Conv2D(16, 1, 3, random_state=rs + 4), Sigmoid()]
    return Sequential(layers), BCELoss(), (1, 28, 28)


def dense_ae(rs=0):
    dims = DENSE_DIMS
    enc = [(a, b) for a, b in zip(dims[:-1], dims[1:])]
    dec = [(b, a) for a, b in reversed(enc)]
    layers = []
    for i, (a, b) in enumerate(enc + dec):
        layers.append(Dense(a, b, random_state=rs + i))
        if i not in (len(enc) - 1, len(enc) + len(dec) - 1):  # linear bottleneck and output
            layers.append(ReLU())
    return Sequential(layers), MSELoss(), (784,)


def torch_model(name):
    nn = torch.nn
    if name == "cifar":
        up = dict(stride=2, padding=1, output_padding=1)  # Keras "same": 4 -> 8 -> 16 -> 32
        return nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(32, 32, 3, **up), nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 3, **up), nn.ReLU(),
            nn.ConvTranspose2d(16, 8, 3, **up), nn.ReLU(),
            nn.ConvTranspose2d(8, 3, 3, 1, 1), nn.Sigmoid()), nn.MSELoss()
    if name == "mnist":
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(16, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(2, 2, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(2, 16, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(16, 1, 3, padding=1), nn.Sigmoid()), nn.BCELoss()
    dims = DENSE_DIMS
    enc = list(zip(dims[:-1], dims[1:]))
    pairs = enc + [(b, a) for a, b in reversed(enc)]
    layers = []
    for i, (a, b) in enumerate(pairs):
        layers.append(nn.Linear(a, b))
        if i not in (len(enc) - 1, len(pairs) - 1):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers), nn.MSELoss()


MODELS = {"cifar": ("CIFAR conv AE", cifar_ae), "mnist": ("MNIST pooling AE", mnist_pool_ae),
          "dense": ("dense 784-500-500-2000-10 AE", dense_ae)}


# ---- timing -----------------------------------------------------------------------------------
def scratchnet_runner(name, batch, threads, rng):
    model, loss, shape = MODELS[name][1]()
    x = rng.random((batch,) + shape, dtype=np.float32)
    opt = Adam(model.parameters(), lr=1e-3)
    # the step Sequential.fit takes: split across the threads or not, as the model's layers
    # decide (Sequential._split_across_cores); --threads sets how many threads it may use
    model._parallel_step = ParallelStep(model, n_threads=threads)
    return lambda: model.train_step(x, x, loss, opt)


def torch_runner(name, batch, shape, channels_last, rng):
    model, loss = torch_model(name)
    x = torch.from_numpy(rng.random((batch,) + shape, dtype=np.float32))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    def step():
        opt.zero_grad(set_to_none=False)
        out = loss(model(x), x)
        out.backward()
        opt.step()
        return out.item()
    return step


def images_per_second(step, batch, seconds):
    """Run ``step`` for about ``seconds`` (at least 3 calls); return batch·calls / time."""
    calls, t0 = 0, time.perf_counter()
    while True:
        step()
        calls += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and calls >= 3:
            return batch * calls / elapsed


def bench(name, batch, threads, rounds, seconds, rng):
    runners = {"scratchnet": scratchnet_runner(name, batch, threads, rng)}
    shape = MODELS[name][1]()[2]
    if torch is not None:
        runners["torch NCHW"] = torch_runner(name, batch, shape, False, rng)
        if len(shape) == 3:
            runners["torch channels-last"] = torch_runner(name, batch, shape, True, rng)
    for run in runners.values():  # warm up: JIT compilation, buffers, allocator
        for _ in range(2):
            run()
    rates = {k: [] for k in runners}
    for _ in range(rounds):
        for key, run in runners.items():
            rates[key].append(images_per_second(run, batch, seconds))
    return rates


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a fast smoke run")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=default_threads())
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None, help="per side per round")
    ap.add_argument("--models", default="cifar,mnist,dense")
    args = ap.parse_args(argv)
    print(_machine.describe())
    rounds = args.rounds or (2 if args.quick else 7)
    seconds = args.seconds or (0.3 if args.quick else 2.0)
    if torch is not None:
        torch.set_num_threads(args.threads)
        print(f"PyTorch {torch.__version__}, {args.threads} threads")
    else:
        print("PyTorch not installed: the comparison columns are skipped "
              "(pip install torch to fill them)")
    print(f"batch {args.batch}, {args.threads} threads, {rounds} interleaved rounds of "
          f"{seconds:.1f} s per side; medians (img/s = training images per second)\n")
    rng = np.random.default_rng(0)
    head = (f"{'model':30s} {'scratchnet':>11s} {'torch NCHW':>11s} {'torch CL':>9s} "
            f"{'× NCHW':>7s} {'× CL':>6s}")
    print(head)
    for name in args.models.split(","):
        with threadpool_limits(limits=args.threads, user_api="blas"):  # same budget for both
            rates = bench(name, args.batch, args.threads, rounds, seconds, rng)
        ours = rates["scratchnet"]
        cells = [f"{MODELS[name][0]:30s}", f"{statistics.median(ours):11,.0f}"]
        for key, width in (("torch NCHW", 11), ("torch channels-last", 9)):
            cells.append(f"{statistics.median(rates[key]):{width},.0f}" if key in rates
                         else f"{'skipped' if torch is None else '-':>{width}s}")
        spread = []
        for key, width in (("torch NCHW", 7), ("torch channels-last", 6)):
            if key in rates:
                per_round = [a / b for a, b in zip(ours, rates[key])]
                cells.append(f"{statistics.median(per_round):{width - 1}.2f}×")
                spread.append(f"{min(per_round):.2f}-{max(per_round):.2f}")
            else:
                cells.append(f"{'-':>{width}s}")
        if spread:  # a shared machine's speed drifts: show how far the rounds disagreed
            cells.append(f"  (rounds: {', '.join(spread)})")
        print(" ".join(cells), flush=True)


if __name__ == "__main__":
    main()
