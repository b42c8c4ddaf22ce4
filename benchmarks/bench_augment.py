"""What the random affine warp adds to a training step, and against PyTorch's when installed.

For each image size it times, on batches of 256 synthetic images (random strokes inside a
blank border, so that the shifts have room):

* ``warp``: :class:`scratchnet.augment.RandomAffine` on one batch, alone (the margins, the
  random maps and the warp);
* ``step``: one training step of the autoencoder that the recipe trains on such images (the
  dense D-500-500-2000-10, and W0's convolutional one for the colour images), batch 256;
* ``added``: what ``fit(..., augment=aug)`` takes per step more than ``fit(...)``: the warp
  where it runs, between two steps whose matrix products leave OpenBLAS's threads busy;
* ``added / step``: the share augmentation adds to training (the target: well under 0.1);
* with PyTorch installed, ``torch``: ``affine_grid`` + ``grid_sample`` (bilinear, zeros,
  ``align_corners=True``) on the same batch, same threads, and ours / torch.

Rounds alternate between the sides and the table reports medians.

    python benchmarks/bench_augment.py
    python benchmarks/bench_augment.py --quick
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for _machine
import _machine  # noqa: E402  (benchmarks/_machine.py)

from scratchnet.augment import RandomAffine  # noqa: E402
from scratchnet.models import cifar_autoencoder, dense_autoencoder  # noqa: E402

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None

SHAPES = {"28x28 grey": (1, 28, 28), "16x16 grey": (1, 16, 16), "8x8 grey": (1, 8, 8),
          "32x32 colour": (3, 32, 32)}


def _time(fn, repeats):
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def _strokes(rng, n, shape):
    """n images of ``shape``: sparse random strokes inside a blank border of an eighth."""
    c, h, w = shape
    X = np.zeros((n,) + shape, np.float32)
    bh, bw = max(1, h // 8), max(1, w // 8)
    inner = X[:, :, bh:h - bh, bw:w - bw]
    inner[...] = rng.random(inner.shape) * (rng.random(inner.shape) > 0.6)
    return X


def _torch_warp(images, rng):
    """The same kind of warp in PyTorch: a random rotation and shift per image."""
    n = len(images)
    theta = np.deg2rad(rng.uniform(-10, 10, n))
    shift = rng.uniform(-0.2, 0.2, (n, 2))        # in [-1, 1] units: 0.1 of the image
    mats = np.zeros((n, 2, 3), np.float32)
    mats[:, 0, 0], mats[:, 0, 1] = np.cos(theta), -np.sin(theta)
    mats[:, 1, 0], mats[:, 1, 1] = np.sin(theta), np.cos(theta)
    mats[:, :, 2] = shift
    x = torch.from_numpy(images)
    grid = torch.nn.functional.affine_grid(torch.from_numpy(mats), x.shape, align_corners=True)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                                           align_corners=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="one short round per size")
    args = p.parse_args(argv)
    print(_machine.describe())
    rounds, repeats, steps = (1, 3, 2) if args.quick else (args.rounds, 30, 30)
    if torch is not None:
        torch.set_num_threads(len(os.sched_getaffinity(0)))
    else:
        print("PyTorch is not installed: its column is skipped (pip install torch)")
    rng = np.random.default_rng(0)
    print(f"\n{'images (batch 256)':<16}{'warp ms':>9}{'step ms':>9}{'added ms':>10}"
          f"{'added/step':>12}{'torch ms':>10}{'ours/torch':>12}")
    for label, shape in SHAPES.items():
        X = _strokes(rng, 2048, shape)
        aug = RandomAffine(shift=0.1, rotation=10, image_shape=shape)
        if shape[0] == 1:
            ae = dense_autoencoder((int(np.prod(shape)), 500, 500, 2000, 10), random_state=0)
            data = X.reshape(len(X), -1)
        else:
            ae = cifar_autoencoder(random_state=0)
            data = X
        batch = data[:256]
        aug(batch, rng)                                   # compile
        ae.fit(data, steps=1, batch_size=256, random_state=0, verbose=False, augment=aug)
        if torch is not None:
            _torch_warp(X[:256], rng)
        warp, step, added, peer = [], [], [], []
        for _ in range(rounds):
            warp.append(_time(lambda: aug(batch, rng), repeats))
            plain = _time(lambda: ae.fit(data, steps=steps, batch_size=256, random_state=0,
                                         verbose=False), 1) / steps
            with_aug = _time(lambda: ae.fit(data, steps=steps, batch_size=256, random_state=0,
                                            verbose=False, augment=aug), 1) / steps
            step.append(plain)
            added.append(with_aug - plain)
            if torch is not None:
                peer.append(_time(lambda: _torch_warp(X[:256], rng), repeats))
        w, s, a = (statistics.median(v) for v in (warp, step, added))
        line = f"{label:<16}{w * 1e3:>9.2f}{s * 1e3:>9.1f}{a * 1e3:>10.2f}{a / s:>12.3f}"
        if peer:
            t = statistics.median(peer)
            line += f"{t * 1e3:>10.2f}{w / t:>12.2f}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
