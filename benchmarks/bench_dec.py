"""DEC's training step against the autoencoder's, on the same encoder: is DEC as fast per FLOP?

DEC trains the encoder alone (784-500-500-2000-10, batch 256, or with ``--model conv`` the
MNIST pooling autoencoder's encoder, flattened) on KL(P || Q); the autoencoder's
``fit`` trains the encoder *and* the mirror-image decoder, about twice the multiply-adds per
step. So DEC's step should take at most about half the autoencoder's. Both are timed here,
alternately, in one process, after a warm-up (Numba compiles on first use), on the 10,000
Fashion-MNIST test images; each row is the median over ``--repeats`` rounds of ``--steps``
steps. The last row runs ``DEC.fit`` end to end (K-means start, a target refresh every 140
steps) and reports its steps per second, as a user sees them.

    python benchmarks/bench_dec.py                 # about a minute
    python benchmarks/bench_dec.py --idec          # IDEC: the decoder trains too
    python benchmarks/bench_dec.py --model conv    # a convolutional encoder: DEC's step is
                                                   # split across the cores, as fit's is
    python benchmarks/bench_dec.py --quick         # smoke run

Name the CPU (``lscpu``) beside any figure quoted from it.
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

from scratchnet.cluster import DEC  # noqa: E402
from scratchnet.datasets import flatten, load_fashion_mnist, to_float32  # noqa: E402
from scratchnet.models import dense_autoencoder, mnist_conv_autoencoder  # noqa: E402
from scratchnet.nn import Flatten, Reshape, Sequential  # noqa: E402
from scratchnet.nn._parallel import ParallelStep  # noqa: E402


def _ae_steps(ae, X, steps, seed):
    start = time.perf_counter()
    ae.fit(X, steps=steps, batch_size=256, random_state=seed, verbose=False)
    return (time.perf_counter() - start) / steps


def _dec_steps(dec, X, p, steps, rng):
    start = time.perf_counter()
    for _ in range(steps):
        idx = rng.integers(0, len(X), 256)
        dec._train_step(X[idx], p[idx], 0)
    return (time.perf_counter() - start) / steps


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=40, help="steps per timed round")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--idec", action="store_true", help="train the decoder too (IDEC, weight 1)")
    p.add_argument("--data-dir", default=None, help="folder of Fashion-MNIST's IDX files")
    p.add_argument("--model", choices=("dense", "conv"), default="dense")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 rounds of 2 steps")
    args = p.parse_args(argv)
    print(_machine.describe())
    if args.quick:
        args.steps, args.repeats = 2, 2

    X, _ = load_fashion_mnist("test", data_dir=args.data_dir, download=False)
    X = to_float32(X)
    if args.model == "dense":
        X = flatten(X)
        ae = dense_autoencoder((784, 500, 500, 2000, 10), random_state=0)
        encoder = ae.encoder
    else:
        ae = mnist_conv_autoencoder(random_state=0)
        encoder = Sequential(list(ae.encoder.layers) + [Flatten()])   # DEC takes flat codes
    # IDEC's decoder takes the codes as the encoder gives them to DEC: flat
    decoder = ae.decoder if args.model == "dense" else Sequential(
        [Reshape(ae.code_shape)] + list(ae.decoder.layers))
    idec = dict(reconstruction_weight=1.0, decoder=decoder) if args.idec else {}
    dec = DEC(encoder, 10, max_iter=1, update_interval=1, n_init=1, random_state=0,
              verbose=False, **idec).fit(X)                  # builds the layer and optimizer
    target = dec.predict_proba(X)
    rng = np.random.default_rng(0)
    _ae_steps(ae, X, 4, 0)                                     # warm-up: JIT compilation
    _dec_steps(dec, X, target, 4, rng)
    serial_step = ParallelStep.threads_for

    def dec_serial():   # the same step with the batch never split, for comparison
        ParallelStep.threads_for = lambda self, n: 1
        try:
            return _dec_steps(dec, X, target, args.steps, rng)
        finally:
            ParallelStep.threads_for = serial_step
    ae_t, dec_t, serial_t = [], [], []
    for r in range(args.repeats):
        ae_t.append(_ae_steps(ae, X, args.steps, r))
        dec_t.append(_dec_steps(dec, X, target, args.steps, rng))
        serial_t.append(dec_serial())
    ae_s, dec_s = statistics.median(ae_t), statistics.median(dec_t)
    kind = "IDEC (encoder + decoder)" if args.idec else "DEC (encoder only)"
    arch = "784-500-500-2000-10" if args.model == "dense" else "MNIST pooling conv encoder"
    print(f"batch 256, {arch}; medians of {args.repeats} rounds of {args.steps} steps")
    print(f"autoencoder fit step (encoder + decoder)   {1e3 * ae_s:7.1f} ms   "
          f"{1 / ae_s:6.1f} steps/s")
    print(f"{kind + ' step':42s} {1e3 * dec_s:7.1f} ms   {1 / dec_s:6.1f} steps/s   "
          f"{dec_s / ae_s:.2f}x the autoencoder's step (about "
          f"{'1.0' if args.idec else '0.5'} is as fast per FLOP)")
    one = statistics.median(serial_t)
    print(f"{'the same step, batch not split':42s} {1e3 * one:7.1f} ms   {1 / one:6.1f} steps/s   "
          f"(the step above takes {dec_s / one:.2f} of it)")

    n_steps = 20 if args.quick else 280
    dec = DEC(encoder, 10, max_iter=n_steps, update_interval=140, tol=0.0, n_init=1,
              random_state=0, verbose=False, **idec)
    start = time.perf_counter()
    dec.fit(X)
    seconds = time.perf_counter() - start
    print(f"DEC.fit end to end: {n_steps} steps in {seconds:.1f} s, "
          f"{n_steps / seconds:.1f} steps/s (K-means start and the target refreshes of "
          f"{len(X):,} images included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
