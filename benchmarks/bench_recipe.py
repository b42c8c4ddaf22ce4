"""The whole recipe, timed step by step beside the same recipe built from PyTorch, umap-learn
and scikit-learn ("the stack").

Ours is ``examples/mnist_dec.py``'s recipe with its defaults, run through the example's own
``recipe`` function (so this measures exactly what a user runs). The stack does the same steps
with the same settings:

============================  ==========================================================
step                          the stack
============================  ==========================================================
pixels K-means                ``sklearn.cluster.KMeans(k, n_init=10)`` on the pixels
pretraining                   the same dense autoencoder D-500-500-2000-10 in ``torch.nn``
                              (Glorot-uniform weights, zero biases, ReLU, linear code and
                              output), Adam (lr 1e-3, eps 1e-7 as ours), MSE, batch 256,
                              the same number of steps, each pass over the data in a new
                              permutation; each batch shifted (within its blank margins,
                              at most 10% of the size) and turned (±10°) by
                              ``affine_grid`` + ``grid_sample`` (bilinear, zero padding)
encode + K-means              the encoder on all images, then ``KMeans(k, n_init=10)``
UMAP                          z-scored codes, ``umap.UMAP(n_components=k, n_neighbors=10,
                              min_dist=0, random_state=seed)``, fitted on at most 10,000
                              codes drawn as ours draws them, ``transform`` for the rest
K-means + GMM on the layout   ``KMeans(k, n_init=10)`` and ``GaussianMixture(k, "full",
                              n_init=5)`` on the layout, the one cutting less of UMAP's
                              graph kept (the example's ``pick_partition``)
DEC-DA from N2D               a Student-t clustering layer on the torch encoder, started
                              from the N2D clusters' mean codes, SGD (lr 0.01, momentum
                              0.9), KL(P || Q) on augmented batches with P from the plain
                              images, refreshed every 140 steps, stopped when fewer than
                              0.1% of labels change or after 3,000 steps
============================  ==========================================================

Both sides run in this one process, one after the other for each seed (ours first on even
seeds, the stack first on odd ones), with the same threads: PyTorch's ``set_num_threads``,
OpenBLAS/OpenMP through threadpoolctl, and Numba's, all set to ``--threads``. umap-learn runs
on one thread whenever it is given a ``random_state`` (its own rule, so that a seed gives one
answer); ours keeps that promise on every thread (blocks of points that never read what
another block writes, see ``scratchnet/manifold/_layout.py``). Each side's ACC on the true
classes is printed beside its time: a faster side that clusters worse has not won. With several
seeds, each figure is the median over the seeds. DEC stops by itself (when few labels change),
so the two sides may train it for different numbers of steps: the table gives both, and the
time per step.

The peers are optional: without them the stack's column is skipped, with a one-line
``pip install`` hint, and ours is still timed.

Measured 2026-12-07, Intel Xeon (AVX-512), 2 cores, seed 0 (seconds, ours / the stack):

- ``python benchmarks/bench_recipe.py --datasets mnist-test-5k``: pixels K-means 0.6 / 2.1,
  pretraining 250.7 / 316.7 (0.79x), encode + K-means 0.2 / 0.2, UMAP 2.9 / 6.5 (0.45x),
  K-means + GMM on the layout 0.2 / 0.3, DEC-DA from N2D 48.0 / 43.2 (3,000 steps each:
  16.0 / 14.4 ms per step, 1.11x); total 303 s / 369 s, **0.82x**; ACC of the answer
  0.9620 / 0.9680 (N2D 0.9382 / 0.9356, AE + K-means 0.7482 / 0.7556).
- ``--datasets fashion-mnist`` (70,000 images): pixels K-means 13.8 / 25.8, pretraining
  263.4 / 330.1 (0.80x), encode + K-means 1.8 / 2.5, UMAP 12.0 / 20.2 (0.59x), K-means + GMM
  2.5 / 13.9, DEC-DA 74.0 / 64.3 (3,000 steps each, 24.7 / 21.4 ms per step with the
  refreshes, 1.15x); total 368 s / 457 s, **0.80x**; ACC of the answer 0.6181 / 0.6487 (N2D
  0.6165 / 0.6425: our pick took K-means, 0.6165, over the GMM's 0.6581 on this seed).

Both sides' pretraining steps ran about 8% slower in the Fashion run than in the MNIST one (the
machine's speed drifts); the ratios are what to compare. PyTorch's Adam lands among float32's
subnormal numbers on the always-black pixels (as ours did before it flushed them to zero,
``scratchnet/nn/optim.py``), which costs its pretraining a few ms per step; the stack is timed
as a user would write it, without ``torch.set_flush_denormal``.

Usage::

    python benchmarks/bench_recipe.py                          # mnist-test-5k and Fashion-MNIST
    python benchmarks/bench_recipe.py --datasets mnist-test-5k --seeds 3
    python benchmarks/bench_recipe.py --quick                  # smoke run, a few seconds a side
"""
import argparse
import contextlib
import io
import json
import math
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for _machine and quality
import _machine  # noqa: E402  (benchmarks/_machine.py)
import quality  # noqa: E402  (the datasets and the example's loader)

from scratchnet._io import atomic_write  # noqa: E402
from scratchnet.experiment import timer  # noqa: E402
from scratchnet.metrics import clustering_accuracy  # noqa: E402

STEPS = ("pixels K-means", "pretraining", "encode + K-means", "UMAP",
         "K-means + GMM on the layout", "DEC-DA from N2D")
SCORED = ("AE + K-means", "N2D", "DEC-DA from N2D")
HINT = "pip install torch umap-learn scikit-learn"


def peers():
    """``(torch, umap, None)`` when the stack can run, else ``(None, None, why)``."""
    try:
        import sklearn  # noqa: F401
        import torch
        import umap
    except ImportError as e:
        return None, None, f"the stack's side needs PyTorch, umap-learn and scikit-learn " \
                           f"({e.name} is missing): {HINT}"
    return torch, umap, None


# ---- ours: the example's recipe --------------------------------------------------------------
def ours(example, images, y, args, seed):
    """``(seconds by step, ACC by stage, DEC steps)`` of the example's ``recipe``."""
    results, state = example.recipe(images, y, args, seed)
    return (state["seconds_by_step"], {s: results[s]["acc"] for s in SCORED},
            results["DEC-DA from N2D"]["iterations"])


# ---- the stack: the same steps with PyTorch, umap-learn and scikit-learn ---------------------
def torch_autoencoder(torch, dims, seed):
    """The dense autoencoder ``dims[0]``-...-``dims[-1]``-...-``dims[0]``: ReLU between layers,
    linear code and output; Glorot-uniform weights and zero biases (Keras's and ours)."""
    torch.manual_seed(seed)
    nn = torch.nn

    def chain(widths):
        layers = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            linear = nn.Linear(a, b)
            nn.init.xavier_uniform_(linear.weight)
            nn.init.zeros_(linear.bias)
            layers.append(linear)
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)
    return chain(list(dims)), chain(list(dims)[::-1])


def torch_random_affine(torch, images, rng, shift, rotation):
    """Each image of ``images`` (B, C, H, W) turned by up to ``rotation`` degrees and shifted by
    up to ``shift`` of its size, never further than its blank margins (content: above 0.1 of
    the image's peak), by ``affine_grid`` + ``grid_sample`` (bilinear, zero padding)."""
    F = torch.nn.functional
    n, _, h, w = images.shape
    a = images.abs().amax(dim=1)                                          # (B, H, W)
    content = a > 0.1 * a.flatten(1).amax(dim=1)[:, None, None]
    cols, rows = content.any(dim=1), content.any(dim=2)                   # (B, W), (B, H)
    first = lambda m: m.to(torch.uint8).argmax(dim=1).to(images.dtype)  # noqa: E731
    room = torch.stack([first(cols), first(cols.flip(1)), first(rows), first(rows.flip(1))], 1)
    room = torch.where(cols.any(dim=1)[:, None], room, torch.zeros_like(room))
    u = torch.from_numpy(rng.uniform(-1.0, 1.0, size=(n, 3))).to(images.dtype)
    reach = torch.tensor([shift * w, shift * w, shift * h, shift * h], dtype=images.dtype)
    reach = torch.minimum(reach, room)
    low, high = -reach[:, 0::2], reach[:, 1::2]                           # x then y
    t = low + (u[:, 1:] + 1.0) / 2.0 * (high - low)                      # shift in pixels
    angle = torch.deg2rad(rotation * u[:, 0])
    cos, sin = torch.cos(angle), torch.sin(angle)
    # output pixel q comes from p = R^-1 (q - c - t) + c; in grid_sample's coordinates
    # (align_corners=True: -1..1 over the pixel centres) p - c = D u with D = diag((W-1)/2, (H-1)/2)
    dx, dy = (w - 1) / 2.0, (h - 1) / 2.0
    theta = torch.empty((n, 2, 3), dtype=images.dtype)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin * dy / dx
    theta[:, 1, 0], theta[:, 1, 1] = sin * dx / dy, cos
    theta[:, 0, 2] = -(cos * t[:, 0] - sin * t[:, 1]) / dx
    theta[:, 1, 2] = -(sin * t[:, 0] + cos * t[:, 1]) / dy
    grid = F.affine_grid(theta, list(images.shape), align_corners=True)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def _passes(n, batch_size, rng):
    """Batches of indices, each pass over the data in a new permutation, forever."""
    while True:
        order = rng.permutation(n)
        for b in range(0, n, batch_size):
            yield order[b:b + batch_size]


def stack(example, torch, umap, images, y, args, seed):
    """``(seconds by step, ACC by stage, DEC steps)`` of the recipe built from the peers."""
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture
    spent, acc = {}, {}
    k, n, bs = args.clusters, len(images), args.batch_size
    X = images.reshape(n, -1)

    with timer() as t:
        KMeans(k, n_init=args.n_init, random_state=seed).fit(X)
    spent["pixels K-means"] = t.seconds

    encoder, decoder = torch_autoencoder(torch, (X.shape[1],) + tuple(args.dims), seed)
    with timer() as t:
        images_t = torch.from_numpy(images)
        params = list(encoder.parameters()) + list(decoder.parameters())
        opt = torch.optim.Adam(params, lr=args.ae_lr, eps=1e-7)
        steps = args.steps if args.steps is not None else args.epochs * math.ceil(n / bs)
        batches = _passes(n, bs, np.random.default_rng([seed, 0]))
        rng = np.random.default_rng([seed, 1])
        for _ in range(steps):
            xb = images_t[torch.from_numpy(next(batches))]
            xb = torch_random_affine(torch, xb, rng, args.shift, args.rotation).flatten(1)
            loss = torch.nn.functional.mse_loss(decoder(encoder(xb)), xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    spent["pretraining"] = t.seconds

    with timer() as t:
        with torch.no_grad():
            codes = encoder(torch.from_numpy(X)).numpy()
        labels = KMeans(k, n_init=args.n_init, random_state=seed).fit(codes).labels_
    spent["encode + K-means"] = t.seconds
    acc["AE + K-means"] = clustering_accuracy(y, labels)

    with timer() as t:
        spread = codes.std(axis=0)
        scaled = (codes - codes.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
        model = umap.UMAP(n_components=k, n_neighbors=args.umap_neighbors, min_dist=0.0,
                          random_state=seed)
        if n <= args.umap_sample:
            fitted, layout = np.arange(n), model.fit_transform(scaled)
        else:        # the example's draw of the codes UMAP learns from
            fitted = np.sort(np.random.default_rng([seed, 7]).choice(n, args.umap_sample,
                                                                     replace=False))
            rest = np.setdiff1d(np.arange(n), fitted)
            model.fit(scaled[fitted])
            layout = np.empty((n, k), dtype=model.embedding_.dtype)
            layout[fitted], layout[rest] = model.embedding_, model.transform(scaled[rest])
    spent["UMAP"] = t.seconds

    with timer() as t:
        candidates = {
            "K-means": KMeans(k, n_init=args.n_init, random_state=seed).fit(layout).labels_,
            "GMM": GaussianMixture(k, covariance_type="full", n_init=args.gmm_init,
                                   random_state=seed).fit(layout).predict(layout)}
        coo = model.graph_.tocoo()
        graph = argparse.Namespace(rows=coo.row, indices=coo.col, data=coo.data)
        n2d = candidates[example.pick_partition(
            graph, {name: labels[fitted] for name, labels in candidates.items()})]
    spent["K-means + GMM on the layout"] = t.seconds
    acc["N2D"] = clustering_accuracy(y, n2d)

    with timer() as t:
        labels, dec_steps = torch_dec(torch, encoder, codes, n2d, images, args, seed)
    spent["DEC-DA from N2D"] = t.seconds
    acc["DEC-DA from N2D"] = clustering_accuracy(y, labels)
    return spent, acc, dec_steps


def torch_dec(torch, encoder, codes, start, images, args, seed, alpha=1.0):
    """DEC-DA: encoder + Student-t centroids (started at the mean code of each cluster of
    ``start``) trained on KL(P || Q), P refreshed from the plain images every
    ``update_interval`` steps; returns ``(final labels, steps taken)``."""
    k, n = args.clusters, len(images)
    means = np.stack([codes[start == j].mean(axis=0) if (start == j).any()
                      else codes.mean(axis=0) for j in range(k)])
    mu = torch.nn.Parameter(torch.from_numpy(means.astype(np.float32)))
    opt = torch.optim.SGD(list(encoder.parameters()) + [mu], lr=0.01, momentum=0.9)
    images_t = torch.from_numpy(images)
    flat = images_t.flatten(1)

    def soft_assignment(z):
        q = (1.0 + torch.cdist(z, mu).square() / alpha) ** (-(alpha + 1.0) / 2.0)
        return q / q.sum(dim=1, keepdim=True)

    def refresh():
        with torch.no_grad():
            q = torch.cat([soft_assignment(encoder(flat[i:i + 1024]))
                           for i in range(0, n, 1024)])
        p = q.square() / q.sum(dim=0)
        return p / p.sum(dim=1, keepdim=True), q.argmax(dim=1)

    batches = _passes(n, args.batch_size, np.random.default_rng([seed, 2]))
    rng = np.random.default_rng([seed, 3])
    p, labels = refresh()
    it = 0
    while it < args.dec_iters:
        for _ in range(it, min(it + args.update_interval, args.dec_iters)):
            idx = torch.from_numpy(next(batches))
            xb = torch_random_affine(torch, images_t[idx], rng, args.shift, args.rotation)
            q = soft_assignment(encoder(xb.flatten(1)))
            pb = p[idx]
            loss = (pb * (torch.log(pb + 1e-12) - torch.log(q + 1e-12))).sum(dim=1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        it = min(it + args.update_interval, args.dec_iters)
        if it == args.dec_iters:
            break
        p, new = refresh()
        changed = float((new != labels).float().mean())
        labels = new
        if changed < args.tol:
            break
    return refresh()[1].numpy(), it


# ---- the comparison ---------------------------------------------------------------------------
def median(values):
    return statistics.median(values) if values else float("nan")


def table(name, runs, have_stack):
    """Print one dataset's steps (median seconds, ours / the stack) and ACCs; return totals."""
    print(f"\n{name}: {len(runs)} seed(s), median seconds per step")
    print(f"{'step':<30}{'ours':>10}{'stack':>10}{'ratio':>9}")
    totals = {}
    for side in ("ours", "stack"):
        totals[side] = median([sum(r[side]["seconds"].values()) for r in runs if side in r])
    for step in STEPS:
        a = median([r["ours"]["seconds"].get(step, 0.0) for r in runs])
        b = median([r["stack"]["seconds"].get(step, 0.0) for r in runs]) if have_stack \
            else float("nan")
        print(f"{step:<30}{a:>10.1f}{b:>10.1f}{a / b if b > 0 else float('nan'):>8.2f}x")
    a, b = totals["ours"], totals["stack"]
    print(f"{'total':<30}{a:>10.1f}{b:>10.1f}{a / b if b > 0 else float('nan'):>8.2f}x")
    # DEC stops when few labels change, so the two sides may train for different lengths:
    # its time per step is the fair comparison of the two implementations
    steps = {side: median([r[side]["dec_steps"] for r in runs if side in r])
             for side in ("ours", "stack")}
    per_step = {side: 1e3 * median([r[side]["seconds"]["DEC-DA from N2D"]
                                    / max(r[side]["dec_steps"], 1) for r in runs if side in r])
                for side in ("ours", "stack")}
    print(f"{'DEC-DA steps taken':<30}{steps['ours']:>10.0f}{steps['stack']:>10.0f}")
    a, b = per_step["ours"], per_step["stack"]
    ratio = a / b if b > 0 else float("nan")
    print(f"{'DEC-DA ms per step':<30}{a:>10.1f}{b:>10.1f}{ratio:>8.2f}x")
    print(f"{'ACC (median over seeds)':<30}{'ours':>10}{'stack':>10}")
    for stage in SCORED:
        a = median([r["ours"]["acc"][stage] for r in runs])
        b = median([r["stack"]["acc"][stage] for r in runs]) if have_stack else float("nan")
        print(f"{stage:<30}{a:>10.4f}{b:>10.4f}")
    return totals


def _data(example, name, seed, out, quick):
    """``(images float32, labels, the example's arguments)`` of one dataset and seed; with
    ``quick`` the example's ``--quick`` subset and settings."""
    recipe_args = example.parse(["--quiet", "--seed", str(seed), "--out", str(out / "example")]
                                + (["--quick"] if quick else []))
    images, y = quality.load(name, False, seed)
    if recipe_args.limit:
        keep = np.sort(np.random.default_rng(seed).choice(
            len(y), min(recipe_args.limit, len(y)), replace=False))
        images, y = images[keep], y[keep]
    return np.ascontiguousarray(images, dtype=np.float32), y, recipe_args


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", choices=["mnist-test-5k", "fashion-mnist"],
                   default=["mnist-test-5k", "fashion-mnist"])
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 400 images, one epoch, 20 DEC steps (the example's --quick)")
    p.add_argument("--out", default="out/bench_recipe", help="folder of recipe.json")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    example = quality._example()
    torch, umap, why = peers()
    print(_machine.describe())
    if torch is not None:
        torch.set_num_threads(args.threads)
        print(f"PyTorch {torch.__version__}, umap-learn {umap.__version__}, "
              f"{args.threads} threads")
    else:
        print(why)
    import numba
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))

    warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)  # umap's
    every, grand = {}, {"ours": 0.0, "stack": 0.0}
    with threadpool_limits(args.threads):
        if not args.quick:
            # JIT compilers warmed up on both sides (Numba's, umap-learn's) before any timing:
            # one smoke run of each on 400 images, not recorded
            print("warming up both sides (--quick on 400 images, not timed)", flush=True)
            images, y, recipe_args = _data(example, args.datasets[0], args.seed, out, True)
            recipe_args.umap_sample = len(images) // 2     # UMAP's transform compiles too
            with contextlib.redirect_stdout(io.StringIO()):
                ours(example, images, y, recipe_args, args.seed)
                if torch is not None:
                    stack(example, torch, umap, images, y, recipe_args, args.seed)
                    # umap-learn finds neighbours exactly below 4,096 points and by NN-descent
                    # above, which its first call compiles: warm that path up too
                    codes = np.random.default_rng(0).standard_normal((4500, 10))
                    umap.UMAP(n_components=10, n_neighbors=10, min_dist=0.0, n_epochs=6,
                              random_state=0).fit(codes[:4200]).transform(codes[4200:])
        for name in args.datasets:
            runs = []
            for seed in range(args.seed, args.seed + args.seeds):
                images, y, recipe_args = _data(example, name, seed, out, args.quick)
                print(f"\n{name}: {len(images)} images of {images.shape[1:]}, seed {seed}",
                      flush=True)
                sides = ["ours", "stack"] if torch is not None else ["ours"]
                run = {}
                for side in sides if seed % 2 == 0 else sides[::-1]:
                    start = time.perf_counter()
                    seconds, acc, dec_steps = (
                        ours(example, images, y, recipe_args, seed) if side == "ours"
                        else stack(example, torch, umap, images, y, recipe_args, seed))
                    run[side] = {"seconds": seconds, "acc": acc, "dec_steps": dec_steps,
                                 "wall": time.perf_counter() - start}
                    print(f"  {side}: {run[side]['wall']:.1f} s, ACC "
                          + ", ".join(f"{s} {v:.4f}" for s, v in acc.items()), flush=True)
                runs.append(run)
                every[name] = runs
                text = json.dumps(every, indent=1, default=float)
                atomic_write(out / "recipe.json", lambda f: f.write(text), binary=False)
            totals = table(name, runs, torch is not None)
            for side in grand:
                grand[side] += totals[side] if not math.isnan(totals[side]) else 0.0
    print(f"\nrecipe.json (every seed, every step) in {out}/")
    if torch is None:
        print(f"total: ours {grand['ours']:.0f} s; the stack was not run ({HINT})")
    else:
        print(f"total: {grand['ours'] / grand['stack']:.2f}x the stack's time (ours "
              f"{grand['ours']:.0f} s, stack {grand['stack']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
