"""Where does DEC's accuracy come from: its objective, or where it starts? A measurement.

    python examples/mnist_dec.py --dataset fashion-mnist --split all --seeds 3 --noise 0.4 \
        --steps 5470 --ae-cache ae/       # the measured AEs: 20 epochs of 70,000, denoising
    python benchmarks/dec_start.py ae/*.npz [--dec-iters 3000] [--quick]

For each saved autoencoder (``Autoencoder.save``, e.g. the files ``--ae-cache`` writes) this
runs, on the L2-normalised codes of all 70,000 Fashion-MNIST images (radius 4, as the example):

============================  ============================================================
K-means (20 restarts)         DEC's start in the paper (the example's ``--dec-start codes``)
DEC from K-means              DEC's result from there
nearest class mean            each code to the closest of the 10 true class means
Lloyd from class means        K-means started at the class means, run to convergence
DEC from class means          DEC started at the class means, 3000 steps
============================  ============================================================

The last three use the labels to *place* the start, so they are references, never results:
they ask whether a clustering objective keeps a partition that matches the classes once it
is handed one. Measured on five denoising autoencoders of the example's recipe (20 epochs;
three with ``--cosine``, seeds 0-2; constant rate seed 0; Keras-style fan-in init seed 0),
mean ± std::

    K-means (20 restarts)      ACC 0.5792 ± 0.0206   NMI 0.6049
    DEC from K-means           ACC 0.5811 ± 0.0198   NMI 0.6199
    nearest class mean *       ACC 0.7033 ± 0.0173   NMI 0.6230
    Lloyd from class means *   ACC 0.5762 ± 0.0202   NMI 0.5815
    DEC from class means *     ACC 0.6395 ± 0.0162   NMI 0.6401

Lloyd's iterations walk from the class means (0.70) to partitions as poor as those K-means
finds from k-means++ (0.58): on these codes K-means' objective prefers partitions that are not
the classes. DEC keeps more of a good start (0.64) but drifts from it too, and from K-means'
start it adds almost nothing. So DEC's result is bounded first by the codes, then by its
start; its training cannot repair a poor start and loses part of a good one.
``--quick`` uses 3,000 images and 30 DEC steps (a smoke run).
"""
import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from scratchnet.cluster import DEC, KMeans, cluster_means, soft_assignment  # noqa: E402
from scratchnet.datasets import load_fashion_mnist, to_float32  # noqa: E402
from scratchnet.metrics import (clustering_accuracy,  # noqa: E402
                                normalized_mutual_info_score)
from scratchnet.models import Autoencoder, model_input  # noqa: E402
from scratchnet.nn import Flatten, L2Normalize, Sequential  # noqa: E402
from scratchnet.experiment import timer  # noqa: E402

RADIUS = 4.0     # the example's --normalize


def measure(path, X, y, dec_iters, seed=0):
    """One autoencoder: {row name: (ACC, NMI, seconds)}. X holds images (N, C, H, W); a dense
    autoencoder gets them as flat rows, a convolutional one as they are."""
    ae = Autoencoder.load(path)
    if ae.input_shape not in (X.shape[1:], (math.prod(X.shape[1:]),)):
        raise ValueError(f"{path} takes inputs of shape {ae.input_shape}, not Fashion-MNIST's "
                         f"{X.shape[1:]} images")
    X = model_input(ae, X)
    codes = L2Normalize(RADIUS).forward(ae.features(X)).astype(np.float32)
    class_means = cluster_means(codes, y, 10).astype(np.float32)
    rows = {}

    def timed(name, labelling):
        with timer() as t:
            labels = labelling()
        rows[name] = (clustering_accuracy(y, labels), normalized_mutual_info_score(y, labels),
                      t.seconds)

    def dec_from(centers):
        flat = [Flatten()] if len(ae.code_shape) > 1 else []  # DEC needs flat codes (N, D)
        encoder = Sequential(list(ae.encoder) + flat + [L2Normalize(RADIUS)])
        return DEC(encoder, 10, max_iter=dec_iters, random_state=seed, verbose=False,
                   init=centers).fit(X).labels_

    km = KMeans(10, n_init=20, random_state=seed)
    timed("K-means (20 restarts)", lambda: km.fit(codes).labels_)
    timed("DEC from K-means", lambda: dec_from(km.cluster_centers_))
    # DEC's Student's t kernel falls with the distance, so its argmax is the nearest centroid
    timed("nearest class mean *", lambda: soft_assignment(codes, class_means).argmax(axis=1))
    timed("Lloyd from class means *",
          lambda: KMeans(10, init=class_means, n_init=1).fit(codes).labels_)
    timed("DEC from class means *", lambda: dec_from(class_means))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("autoencoders", nargs="+", help="saved autoencoders (.npz) of Fashion-MNIST")
    p.add_argument("--dec-iters", type=int, default=3000)
    p.add_argument("--data-dir", default=None, help="folder holding Fashion-MNIST's IDX files")
    p.add_argument("--quick", action="store_true", help="3,000 images, 30 DEC steps")
    args = p.parse_args(argv)
    X, y = load_fashion_mnist("all", data_dir=args.data_dir, download=False)
    X = to_float32(X)
    if args.quick:
        keep = np.random.default_rng(0).choice(len(X), 3000, replace=False)
        X, y, args.dec_iters = X[keep], y[keep], 30
    table = {}
    for path in args.autoencoders:
        try:
            rows = measure(path, X, y, args.dec_iters)
        except ValueError as e:
            p.exit(2, f"dec_start.py: error: {e}\n")
        for name, value in rows.items():
            table.setdefault(name, []).append(value)
            print(f"{os.path.basename(path)}: {name:26s} ACC {value[0]:.4f} "
                  f"NMI {value[1]:.4f} ({value[2]:.0f} s)", flush=True)
    print(f"\nmean over {len(args.autoencoders)} autoencoder(s), {len(X)} images "
          "(* the labels place the start: a reference, not a result)")
    for name, values in table.items():
        v = np.array(values)
        print(f"{name:26s} ACC {v[:, 0].mean():.4f} ± {v[:, 0].std():.4f}   "
              f"NMI {v[:, 1].mean():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
