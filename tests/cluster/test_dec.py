"""DEC and IDEC: q and p, the clustering layer's gradient, training on blobs, errors, resume."""
import json
import re

import numpy as np
import pytest

from scratchnet.cluster import DEC, ClusteringLayer, KMeans, soft_assignment, target_distribution
from scratchnet.cluster._dec_checkpoint import settings
from scratchnet.exceptions import NotFittedError
from scratchnet.metrics import clustering_accuracy
from scratchnet.nn import Dense, KLDivLoss, L2Normalize, ReLU, Reshape, Sequential
from scratchnet.testing import GradientCheckError, check_gradients


def _blobs(rng, n=600, d=20, k=4, spread=4.0):
    centers = rng.normal(scale=spread, size=(k, d))
    y = rng.integers(k, size=n)
    return (centers[y] + rng.normal(size=(n, d))).astype(np.float32), y


def _encoder(seed, d=20, code=3):
    return Sequential([Dense(d, 16, random_state=seed), ReLU(),
                       Dense(16, code, random_state=seed + 1)])


# -- q and p ---------------------------------------------------------------------------------

def test_soft_assignment_hand_computed():
    # d = (0, 4) and (4, 0); alpha = 1: kernel 1/(1 + d) -> (1, 1/5), normalised (5/6, 1/6)
    q = soft_assignment(np.array([[0.0], [2.0]]), np.array([[0.0], [2.0]]))
    np.testing.assert_allclose(q, [[5 / 6, 1 / 6], [1 / 6, 5 / 6]])
    # alpha = 3: (1 + 4/3)^-2 = 9/49 -> (49/58, 9/58)
    q3 = soft_assignment(np.array([[0.0]]), np.array([[0.0], [2.0]]), alpha=3.0)
    np.testing.assert_allclose(q3, [[49 / 58, 9 / 58]])


def test_target_distribution_hand_computed():
    q = np.array([[0.6, 0.4], [0.4, 0.6]])       # f = (1, 1): p ∝ q²
    np.testing.assert_allclose(target_distribution(q), [[9 / 13, 4 / 13], [4 / 13, 9 / 13]])
    q = np.array([[0.6, 0.4], [0.9, 0.1]])       # f = (1.5, 0.5): p ∝ (0.24, 0.32), (0.54, 0.02)
    np.testing.assert_allclose(target_distribution(q), [[0.24 / 0.56, 0.32 / 0.56],
                                                        [0.54 / 0.56, 0.02 / 0.56]])


@pytest.mark.parametrize("alpha", [1.0, 0.5, 4.0])
def test_rows_of_q_and_p_sum_to_one(alpha):
    rng = np.random.default_rng(1)
    z, mu = rng.normal(size=(50, 5)), rng.normal(size=(7, 5))
    q = soft_assignment(z, mu, alpha)
    p = target_distribution(q)
    assert q.shape == p.shape == (50, 7)
    assert (q > 0).all() and (p > 0).all()
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    # q decreases with the distance: its argmax is the nearest centroid
    d = ((z[:, None] - mu[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(q.argmax(axis=1), d.argmin(axis=1))


def test_p_sharpens_q():
    rng = np.random.default_rng(2)
    rows = rng.dirichlet(np.ones(5), size=40)
    # every cyclic shift of every row: all cluster frequencies f_j are equal, so p ∝ q²
    q = np.concatenate([np.roll(rows, s, axis=1) for s in range(5)])
    p = target_distribution(q)
    assert (p.max(axis=1) >= q.max(axis=1) - 1e-12).all()
    assert (p.max(axis=1) > q.max(axis=1)).mean() > 0.99   # strictly, unless a row is uniform
    np.testing.assert_array_equal(p.argmax(axis=1), q.argmax(axis=1))
    # with unequal frequencies p also moves mass away from big clusters (the 1/f_j factor)
    q2 = np.array([[0.9, 0.1]] * 9 + [[0.45, 0.55]])
    assert target_distribution(q2)[-1, 1] > q2[-1, 1]


# -- the clustering layer's gradient ---------------------------------------------------------

def _kl_setup(seed, alpha):
    rng = np.random.default_rng(seed)
    z, mu = rng.normal(size=(12, 4)), rng.normal(size=(5, 4))
    p = target_distribution(soft_assignment(z + 0.3 * rng.normal(size=z.shape), mu, alpha))
    return z, ClusteringLayer(mu, alpha=alpha), p


def _kl_numeric(layer, z, p, arr, eps=1e-6):
    """Central differences of KL(p || q(z, mu)) with respect to every entry of ``arr``."""
    loss, out, flat = KLDivLoss(), np.empty(arr.size), arr.reshape(-1)
    for i in range(arr.size):
        old = flat[i]
        flat[i] = old + eps
        plus = loss(layer.forward(z), p)
        flat[i] = old - eps
        minus = loss(layer.forward(z), p)
        flat[i] = old
        out[i] = (plus - minus) / (2 * eps)
    return out.reshape(arr.shape)


@pytest.mark.parametrize("alpha", [1.0, 2.5])
def test_clustering_layer_gradients_with_kl_loss(alpha):
    z, layer, p = _kl_setup(3, alpha)
    loss = KLDivLoss()
    layer.zero_grad()
    loss(layer.forward(z), p)
    dz = layer.backward(loss.backward())
    dmu = layer.mu.grad.copy()
    np.testing.assert_allclose(dz, _kl_numeric(layer, z, p, z), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(dmu, _kl_numeric(layer, z, p, layer.mu.value),
                               rtol=1e-5, atol=1e-9)
    # DEC's closed form (Xie et al. 2016, eq. 4-5, divided by N for the mean over samples)
    q, diff = layer.forward(z), z[:, None] - layer.mu.value[None]
    w = (p - q) / (1 + (diff ** 2).sum(axis=2) / alpha) * (alpha + 1) / alpha / len(z)
    np.testing.assert_allclose(dz, np.einsum("ij,ijf->if", w, diff), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dmu, -np.einsum("ij,ijf->jf", w, diff), rtol=1e-10, atol=1e-14)


def test_clustering_layer_random_upstream_and_negative_control():
    rng = np.random.default_rng(4)
    layer = ClusteringLayer(rng.normal(size=(3, 4)), alpha=1.0)
    errors = check_gradients(layer, rng.normal(size=(6, 4)), random_state=5)
    assert set(errors) == {"x", "mu"}

    class Broken(ClusteringLayer):      # forgets the normalisation term s_i of the backward
        def backward(self, grad):
            A = -(self.alpha + 1) / (2 * self.alpha) * self._q * grad / self._t
            self.mu.grad -= 2.0 * np.einsum("ij,ijf->jf", A, self._diff)
            return 2.0 * np.einsum("ij,ijf->if", A, self._diff)

    with pytest.raises(GradientCheckError):
        check_gradients(Broken(layer.mu.value.copy()), rng.normal(size=(6, 4)), random_state=5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clustering_layer_forward_is_soft_assignment(dtype):
    # one Student's t kernel serves both: the same bits, in float32 as in float64
    rng = np.random.default_rng(10)
    z, mu = rng.normal(size=(9, 4)).astype(dtype), rng.normal(size=(3, 4)).astype(dtype)
    for alpha in (1.0, 2.5):
        q = ClusteringLayer(mu, alpha=alpha).forward(z)
        assert q.dtype == dtype
        np.testing.assert_array_equal(q, soft_assignment(z, mu, alpha))


def test_clustering_layer_validates_input():
    layer = ClusteringLayer(np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"expected input \(N, 4\), got \(2, 5\)"):
        layer.forward(np.zeros((2, 5), np.float32))
    with pytest.raises(RuntimeError, match="backward"):
        ClusteringLayer(np.zeros((3, 4))).backward(np.zeros((2, 3)))


# -- training --------------------------------------------------------------------------------

def _fit_blobs(seed=0, **kw):
    X, y = _blobs(np.random.default_rng(seed))
    args = dict(update_interval=20, max_iter=300, batch_size=64, n_init=5, random_state=seed,
                verbose=False)
    args.update(kw)
    dec = DEC(_encoder(seed + 10), 4, **args).fit(X, y)
    return dec, X, y


def test_dec_on_blobs_reaches_high_accuracy_and_predict_matches_labels():
    logs = []
    dec, X, y = _fit_blobs(callbacks=[lambda d, entry: logs.append(entry)])
    assert dec.history_["acc"][0] < 0.9    # K-means on the untrained codes: DEC does the work
    assert clustering_accuracy(y, dec.labels_) >= 0.95
    np.testing.assert_array_equal(dec.predict(X), dec.labels_)
    q = dec.predict_proba(X)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=1e-5)
    assert dec.cluster_centers_.shape == (4, 3)
    h = dec.history_
    assert len(logs) == len(h["iteration"]) >= 2 and logs[-1]["iteration"] == h["iteration"][-1]
    assert h["iteration"][:2] == [0, 20] and len(h["acc"]) == len(h["nmi"]) == len(h["loss"])
    assert np.isnan(h["loss"][0]) and np.isfinite(h["loss"][1:]).all()
    assert 0 < dec.n_iter_ <= 300


def test_dec_training_moves_encoder_and_centroids():
    X, _ = _blobs(np.random.default_rng(0))
    enc = _encoder(10)
    w0 = enc.parameters()[0].value.copy()
    dec = DEC(enc, 4, update_interval=10, max_iter=30, tol=0.0, batch_size=64, n_init=3,
              random_state=0, verbose=False, optimizer="adam")
    dec.fit(X)
    assert dec.n_iter_ == 30 and not np.array_equal(enc.parameters()[0].value, w0)
    assert dec.history_["acc"] == [] and len(dec.history_["iteration"]) == 3


def test_idec_keeps_reconstruction_finite_and_trains_decoder():
    X, y = _blobs(np.random.default_rng(1))
    decoder = Sequential([Dense(3, 16, random_state=5), ReLU(), Dense(16, 20, random_state=6)])
    w0 = decoder.parameters()[0].value.copy()
    dec = DEC(_encoder(11), 4, update_interval=10, max_iter=40, tol=0.0, batch_size=64,
              n_init=3, random_state=1, verbose=False, optimizer="adam",
              reconstruction_weight=10.0, decoder=decoder)
    dec.fit(X, y)
    rec = dec.history_["reconstruction_loss"][1:]
    assert len(rec) == 3 and np.isfinite(rec).all() and min(rec) > 0
    assert not np.array_equal(decoder.parameters()[0].value, w0)
    # plain DEC leaves a decoder alone and logs no reconstruction loss
    plain = DEC(_encoder(11), 4, update_interval=10, max_iter=20, n_init=3, random_state=1,
                verbose=False, decoder=decoder)
    plain.fit(X)
    assert plain.history_["reconstruction_loss"][1:] == [0.0]


def test_given_centroids_start_dec_exactly_where_its_own_kmeans_would():
    X, y = _blobs(np.random.default_rng(2))
    args = dict(update_interval=10, max_iter=40, tol=0.0, batch_size=64, random_state=3,
                verbose=False)
    own = DEC(_encoder(12), 4, n_init=3, **args).fit(X, y)
    km = KMeans(4, n_init=3, random_state=3).fit(_encoder(12).predict(X, batch_size=256))
    centers = km.cluster_centers_.copy()
    given = DEC(_encoder(12), 4, n_init=99, init=centers, **args).fit(X, y)
    np.testing.assert_array_equal(km.cluster_centers_, centers)     # the caller's array is kept
    np.testing.assert_array_equal(given.labels_, own.labels_)
    np.testing.assert_allclose(given.cluster_centers_, own.cluster_centers_, rtol=1e-6)
    assert given.history_["acc"] == own.history_["acc"]
    # other centroids give another run: init is really used
    other = DEC(_encoder(12), 4, init=centers[::-1] + 1.0, **args).fit(X, y)
    assert not np.allclose(other.cluster_centers_, own.cluster_centers_)


def test_bad_init_gives_clear_errors():
    X = np.random.default_rng(7).normal(size=(30, 20)).astype(np.float32)
    with pytest.raises(ValueError, match=r"init must be 'k-means' or an array.*'random'"):
        DEC(_encoder(0), 2, init="random").fit(X)
    with pytest.raises(ValueError, match=r"centroids of shape \(2, D\), got shape \(3, 3\)"):
        DEC(_encoder(0), 2, init=np.zeros((3, 3))).fit(X)
    with pytest.raises(ValueError, match=r"got shape \(2, 3\) with NaN/inf"):
        DEC(_encoder(0), 2, init=np.array([[0.0, 1, 2], [np.nan, 0, 0]])).fit(X)
    with pytest.raises(ValueError, match=r"init of shape \(2, 3\) for the encoder's 3-d codes, "
                                         r"got \(2, 5\)"):
        DEC(_encoder(0), 2, init=np.zeros((2, 5)), verbose=False).fit(X)


# -- errors ----------------------------------------------------------------------------------

def test_bad_input_gives_clear_errors():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(5, 20)).astype(np.float32)
    with pytest.raises(ValueError, match="n_clusters <= n_samples, got n_clusters=6 for 5"):
        DEC(_encoder(0), 6, verbose=False).fit(X)
    not_flat = Sequential([Dense(20, 4, random_state=0), Reshape((1, 2, 2))])
    with pytest.raises(ValueError, match=r"codes \(N, D\), got shape \(5, 1, 2, 2\).*Flatten"):
        DEC(not_flat, 2, verbose=False).fit(X)
    bad = X.copy()
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match="finite, got 1 NaN"):
        DEC(_encoder(0), 2, verbose=False).fit(bad)
    with pytest.raises(ValueError, match="needs a decoder"):
        DEC(_encoder(0), 2, reconstruction_weight=1.0).fit(X)
    with pytest.raises(ValueError, match="n_clusters to be a positive int, got 0"):
        DEC(_encoder(0), 0).fit(X)
    with pytest.raises(NotFittedError, match="call fit"):
        DEC(_encoder(0), 2).predict(X)


# -- checkpoint / resume ---------------------------------------------------------------------

def test_resume_from_checkpoint_equals_uninterrupted_run(tmp_path):
    X, y = _blobs(np.random.default_rng(7), n=300)
    # 5 batches per pass; refreshes every 7 steps, so the resumed run starts mid-pass
    args = dict(update_interval=7, max_iter=50, tol=0.0, batch_size=64, n_init=2,
                random_state=3, verbose=False, optimizer="adam")
    full = DEC(_encoder(20), 4, **args).fit(X, y, checkpoint=tmp_path / "full.npz")

    class Interrupt(Exception):
        pass

    def stop_at_28(dec, logs):
        if logs["iteration"] == 28:
            raise Interrupt   # before the checkpoint of iteration 28: the file holds 21

    path = tmp_path / "run.npz"
    with pytest.raises(Interrupt):
        DEC(_encoder(20), 4, callbacks=[stop_at_28], **args).fit(X, y, checkpoint=path)
    with np.load(path) as f:
        assert int(f["iteration"]) == 21
    # a differently initialised encoder: resuming must restore the weights
    enc = _encoder(99)
    resumed = DEC(enc, 4, **args).fit(X, y, checkpoint=path, resume=True)
    np.testing.assert_array_equal(resumed.cluster_centers_, full.cluster_centers_)
    for a, b in zip(enc.parameters(), full.encoder.parameters()):
        np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(resumed.labels_, full.labels_)
    assert resumed.history_.keys() == full.history_.keys()
    for key in full.history_:
        np.testing.assert_array_equal(resumed.history_[key], full.history_[key], err_msg=key)
    assert resumed.n_iter_ == full.n_iter_ == 50


def test_idec_with_sgd_momentum_resumes_like_the_uninterrupted_run(tmp_path):
    # the decoder's weights and SGD's velocity go through the checkpoint too
    X, _ = _blobs(np.random.default_rng(7), n=300)

    def run(encoder_seed, **kw):
        decoder = Sequential([Dense(3, 16, random_state=encoder_seed + 5), ReLU(),
                              Dense(16, 20, random_state=encoder_seed + 6)])
        return DEC(_encoder(encoder_seed), 4, update_interval=6, max_iter=30, tol=0.0,
                   batch_size=64, n_init=2, random_state=5, verbose=False,
                   reconstruction_weight=2.0, decoder=decoder, **kw)

    full = run(20).fit(X, checkpoint=tmp_path / "full.npz")

    def stop_at_18(dec, logs):
        if logs["iteration"] == 18:
            raise KeyboardInterrupt   # the file holds the refresh of step 12

    path = tmp_path / "run.npz"
    with pytest.raises(KeyboardInterrupt):
        run(20, callbacks=[stop_at_18]).fit(X, checkpoint=path)
    with np.load(path) as f:
        assert int(f["iteration"]) == 12 and "optimizer.velocity.0" in f
    resumed = run(99).fit(X, checkpoint=path, resume=True)
    for net in ("encoder", "decoder"):
        for a, b in zip(getattr(resumed, net).parameters(), getattr(full, net).parameters()):
            np.testing.assert_array_equal(a.value, b.value, err_msg=net)
    np.testing.assert_array_equal(resumed.cluster_centers_, full.cluster_centers_)
    for a, b in zip(resumed.optimizer_.velocity, full.optimizer_.velocity):
        np.testing.assert_array_equal(a, b)
    assert resumed.history_.keys() == full.history_.keys()
    for key in full.history_:
        np.testing.assert_array_equal(resumed.history_[key], full.history_[key], err_msg=key)


def test_resume_with_another_optimizer_is_refused(tmp_path):
    X, _ = _blobs(np.random.default_rng(8), n=200)
    path = tmp_path / "c.npz"
    DEC(_encoder(0), 4, update_interval=5, max_iter=6, n_init=1, random_state=0,
        verbose=False, optimizer="adam").fit(X, checkpoint=path)
    with pytest.raises(ValueError, match=r"was written with other settings: optimizer "
                                         r"\"adam\" -> null; update_interval 5 -> 140\."):
        DEC(_encoder(0), 4, verbose=False).fit(X, checkpoint=path, resume=True)
    # past the fingerprint, the optimizer's arrays are checked too (a hand-made file)
    with np.load(path) as f:
        arrays = dict(f)
    arrays["fingerprint.settings"] = np.array(json.dumps(
        settings(DEC(_encoder(0), 4, update_interval=5, optimizer="sgd"))))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"optimizer state expected keys \['optimizer.t', "
                                         r"'optimizer.velocity.0'.*another optimizer than SGD"):
        DEC(_encoder(0), 4, update_interval=5, optimizer="sgd", verbose=False).fit(
            X, checkpoint=path, resume=True)


def test_resume_with_another_architecture_is_refused(tmp_path):
    X, _ = _blobs(np.random.default_rng(8), n=200)
    path = tmp_path / "c.npz"
    DEC(_encoder(0), 4, update_interval=5, max_iter=6, n_init=1, random_state=0,
        verbose=False).fit(X, checkpoint=path)
    other = Sequential([Dense(20, 8, random_state=0), ReLU(), Dense(8, 3, random_state=1)])
    with pytest.raises(ValueError, match=r"other settings: encoder .*update_interval 5 -> 140"):
        DEC(other, 4, verbose=False).fit(X, checkpoint=path, resume=True)


@pytest.mark.parametrize("change", ["reversed", "other values", "normalized", "alpha",
                                    "augment"])
def test_resume_refuses_other_data_or_settings(tmp_path, change):
    """The saved target P belongs to the images it was computed on, in their order: the
    same number of other images, or the same images reversed, are refused, as is a setting
    that changes what a step computes; a longer max_iter and another tol are a longer run."""
    X, _ = _blobs(np.random.default_rng(8), n=200)
    path = tmp_path / "c.npz"
    kw = dict(update_interval=5, n_init=1, random_state=0, verbose=False)
    DEC(_encoder(0), 4, max_iter=6, **kw).fit(X, checkpoint=path)
    encoder, data, extra = _encoder(0), X, {}
    if change == "reversed":
        data = X[::-1]
    elif change == "other values":
        data = X + 1e-3
    elif change == "normalized":
        encoder = Sequential(list(_encoder(0).layers) + [L2Normalize(4.0)])
    elif change == "alpha":
        extra = dict(alpha=2.0)
    else:
        extra = dict(augment=lambda xb, rng: xb)
    says = {"reversed": "written for other data", "other values": "written for other data",
            "normalized": r"other settings: encoder .*L2Normalize.*scale.*4\.0",
            "alpha": "other settings: alpha 1.0 -> 2.0",
            "augment": "other settings: augment null -> "}[change]
    with pytest.raises(ValueError, match=says):
        DEC(encoder, 4, max_iter=20, **kw, **extra).fit(data, checkpoint=path, resume=True)
    resumed = DEC(_encoder(0), 4, max_iter=20, tol=0.5, **kw).fit(X, checkpoint=path,
                                                                   resume=True)
    assert resumed.n_iter_ > 6


def test_a_checkpoint_without_a_fingerprint_is_refused(tmp_path):
    X, _ = _blobs(np.random.default_rng(8), n=200)
    path = tmp_path / "c.npz"
    DEC(_encoder(0), 4, update_interval=5, max_iter=6, n_init=1, random_state=0,
        verbose=False).fit(X, checkpoint=path)
    with np.load(path) as f:
        arrays = {k: v for k, v in f.items() if not k.startswith("fingerprint.")}
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="holds no fingerprint of its data and settings"):
        DEC(_encoder(0), 4, update_interval=5, n_init=1, random_state=0,
            verbose=False).fit(X, checkpoint=path, resume=True)


@pytest.mark.parametrize("content", ["truncated", "empty", "random"])
def test_resume_from_an_unreadable_checkpoint_names_it_and_says_how_to_start_over(tmp_path,
                                                                                   content):
    """Issue 14 R5: BadZipFile / EOFError tracebacks, and numpy's allow_pickle hint for random
    bytes, become one ValueError naming the file."""
    X, _ = _blobs(np.random.default_rng(8), n=200)
    path = tmp_path / "dec.npz"
    DEC(_encoder(0), 4, update_interval=5, max_iter=6, n_init=1, random_state=0,
        verbose=False).fit(X, checkpoint=path)
    raw = path.read_bytes()
    path.write_bytes({"truncated": raw[:len(raw) // 2], "empty": b"",
                      "random": np.random.default_rng(1).bytes(600)}[content])
    with pytest.raises(ValueError) as info:
        DEC(_encoder(0), 4, verbose=False).fit(X, checkpoint=path, resume=True)
    message = str(info.value)
    assert message.startswith(f"DEC.fit(resume): {str(path)!r} is not a readable checkpoint (")
    assert "truncated, or written by another program?" in message
    assert "without resuming (--resume on the command line), or delete the file" in message
    assert "allow_pickle" not in message


def test_a_foreign_npz_is_not_taken_for_a_dec_checkpoint(tmp_path):
    X, _ = _blobs(np.random.default_rng(8), n=200)
    path = tmp_path / "dec.npz"
    np.savez(path, mu=np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"is not a DEC checkpoint \(expected keys .*\).* "
                                         r"delete the file"):
        DEC(_encoder(0), 4, verbose=False).fit(X, checkpoint=path, resume=True)


def test_dec_at_a_huge_learning_rate_stops_before_saving_nan_weights(tmp_path):
    """Issue 14 R7: NaN weights used to be kept (and checkpointed) until K-means failed."""
    from scratchnet.nn import SGD, TrainingDivergedError
    X, _ = _blobs(np.random.default_rng(8), n=200)
    path = tmp_path / "dec.npz"
    dec = DEC(_encoder(0), 4, update_interval=3, max_iter=200, tol=0.0, n_init=1,
              random_state=0, verbose=False, optimizer=lambda ps: SGD(ps, lr=1e12))
    with pytest.warns(RuntimeWarning), pytest.raises(TrainingDivergedError) as info:
        dec.fit(X, checkpoint=path)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith("DEC.fit: the loss became ")
    assert re.search(r" at epoch \d+, step \d+: training diverged", str(info.value))
    assert "lower the learning rate (lr=1e+12)" in str(info.value)
    with np.load(path) as f:          # the last checkpoint holds finite weights only
        assert all(np.isfinite(f[k]).all() for k in f.files if k.startswith(("encoder.", "mu")))


def test_dec_checkpoint_refuses_non_finite_weights(tmp_path):
    X, _ = _blobs(np.random.default_rng(8), n=200)
    path = tmp_path / "dec.npz"
    dec = DEC(_encoder(0), 4, update_interval=5, max_iter=6, n_init=1, random_state=0,
              verbose=False).fit(X, checkpoint=path)
    before = path.read_bytes()
    dec.clustering_.mu.value[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"DEC.save_checkpoint: refusing to save non-finite "
                                         r"\(NaN/inf\) weights in \['mu'\]"):
        dec.save_checkpoint(path, 6, np.full((200, 4), 0.25), dec.labels_)
    assert path.read_bytes() == before


def test_dec_with_a_convolutional_encoder_ending_in_flatten():
    from scratchnet.nn import Conv2D, Flatten, MaxPool2D
    rng = np.random.default_rng(9)
    y = rng.integers(2, size=64)
    X = (0.2 * rng.random((64, 1, 8, 8))).astype(np.float32)
    X[y == 0, :, :4] += 0.8          # bright top half vs bright bottom half
    X[y == 1, :, 4:] += 0.8
    enc = Sequential([Conv2D(1, 2, 3, random_state=0), ReLU(), MaxPool2D(2), Flatten(),
                      Dense(32, 2, random_state=1)])
    w0 = enc.parameters()[0].value.copy()
    dec = DEC(enc, 2, update_interval=4, max_iter=12, batch_size=16, n_init=2, random_state=0,
              verbose=False).fit(X, y)
    assert clustering_accuracy(y, dec.labels_) >= 0.95
    assert dec.n_iter_ >= 4 and not np.array_equal(enc.parameters()[0].value, w0)  # trained
    np.testing.assert_array_equal(dec.predict(X[:10]), dec.labels_[:10])


def test_dec_with_a_conv_encoder_trains_on_every_core_like_fit(monkeypatch):
    """DEC's encoder + clustering layer train by Sequential.fit's step: with a convolutional
    encoder (single-threaded Numba kernels) the batch is split across the cores, with the
    same result as the serial step up to float rounding."""
    from scratchnet.nn import Conv2D, Flatten
    from scratchnet.nn._parallel import ParallelStep
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(c, 0.3, (48, 1, 8, 8)) for c in (0.2, 0.8)])
    X = X.astype(np.float32)

    def fit(serial):
        encoder = Sequential([Conv2D(1, 4, 3, 2, random_state=0), ReLU(), Flatten(),
                              Dense(4 * 4 * 4, 2, random_state=1)])
        with monkeypatch.context() as m:
            calls = []
            step = ParallelStep.step
            m.setattr(ParallelStep, "step", lambda self, *a: calls.append(1) or step(self, *a))
            if serial:
                m.setattr(ParallelStep, "threads_for", lambda self, n: 1)
            else:
                m.setattr(ParallelStep, "threads_for", lambda self, n: 2)
            dec = DEC(encoder, 2, update_interval=3, max_iter=6, batch_size=32, n_init=2,
                      tol=0.0, random_state=0, verbose=False).fit(X)
        return dec, len(calls)

    split, n_split = fit(serial=False)
    serial, n_serial = fit(serial=True)
    assert n_split == 6 and n_serial == 0
    np.testing.assert_allclose(split.cluster_centers_, serial.cluster_centers_, rtol=1e-4,
                               atol=1e-6)
    np.testing.assert_array_equal(split.labels_, serial.labels_)


def test_idec_with_a_conv_encoder_splits_its_branching_step(monkeypatch):
    """IDEC's step (the decoder branching off the codes) is split across the cores the same
    way, and gives the unsplit result up to float rounding; both losses are reported."""
    from scratchnet.nn import Conv2D, Flatten
    from scratchnet.nn._parallel import ParallelStep
    rng = np.random.default_rng(4)
    X = np.concatenate([rng.uniform(0, 0.4, (48, 1, 8, 8)), rng.uniform(0.6, 1, (48, 1, 8, 8))])
    X = X.astype(np.float32)

    def fit(threads):
        encoder = Sequential([Conv2D(1, 4, 3, 2, random_state=0), ReLU(), Flatten(),
                              Dense(64, 2, random_state=1)])
        decoder = Sequential([Dense(2, 64, random_state=2), Reshape((1, 8, 8))])
        with monkeypatch.context() as m:
            m.setattr(ParallelStep, "threads_for", lambda self, n: threads)
            return DEC(encoder, 2, update_interval=3, max_iter=6, batch_size=32, n_init=2,
                       tol=0.0, random_state=0, verbose=False, reconstruction_weight=0.5,
                       decoder=decoder, optimizer="adam").fit(X)

    split, serial = fit(2), fit(1)
    assert len(split._idec_step._replicas) == 1 and not serial._idec_step._replicas
    np.testing.assert_allclose(split.cluster_centers_, serial.cluster_centers_, rtol=1e-4,
                               atol=1e-6)
    np.testing.assert_array_equal(split.labels_, serial.labels_)
    for key in ("loss", "reconstruction_loss"):
        np.testing.assert_allclose(split.history_[key], serial.history_[key], rtol=1e-4)
        assert np.isfinite(split.history_[key][1:]).all()
