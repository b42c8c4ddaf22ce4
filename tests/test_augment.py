"""Random affine warps: exact cases by hand, the Numba kernel against its NumPy twin, the
random draw, and augmentation inside Sequential.fit, Autoencoder.fit and DEC."""
import numpy as np
import pytest

from scratchnet.augment import (RandomAffine, affine_matrices, blank_margins,
                                blank_margins_reference,
                                random_affine_matrices, warp_affine, warp_affine_reference)
from scratchnet.cluster import DEC
from scratchnet.models import dense_autoencoder
from scratchnet.nn import Adam, Dense, MSELoss, ReLU, Sequential


def _images(rng, shape=(4, 2, 7, 9), dtype=np.float32):
    return rng.random(shape).astype(dtype)


# -- exact cases -----------------------------------------------------------------------------

def test_identity_copies_the_images():
    x = _images(np.random.default_rng(0))
    for warp in (warp_affine, warp_affine_reference):
        np.testing.assert_array_equal(warp(x, affine_matrices(7, 9).repeat(4, axis=0)), x)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_quarter_turns_are_rot90(k):
    # a square image turned about its centre by a multiple of 90 degrees: every output pixel
    # reads an input pixel centre, counter-clockwise as shown, as np.rot90 turns
    x = _images(np.random.default_rng(1), (3, 2, 6, 6))
    maps = affine_matrices(6, 6, rotation=90.0 * k).repeat(3, axis=0)
    for warp in (warp_affine, warp_affine_reference):
        np.testing.assert_allclose(warp(x, maps), np.rot90(x, k, axes=(2, 3)), atol=1e-6)


@pytest.mark.parametrize("dx, dy", [(2, 0), (0, -3), (1, 2), (-4, -1)])
def test_whole_pixel_shifts_move_pixels_and_fill_with_zeros(dx, dy):
    x = _images(np.random.default_rng(2))
    expected = np.zeros_like(x)
    h, w = x.shape[2:]
    # the output at (y, x) is the input at (y - dy, x - dx) when that is inside
    expected[:, :, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        x[:, :, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    maps = affine_matrices(h, w, shift=(dx, dy)).repeat(len(x), axis=0)
    for warp in (warp_affine, warp_affine_reference):
        np.testing.assert_array_equal(warp(x, maps), expected)


def test_half_pixel_shift_averages_neighbours_by_hand():
    x = np.array([[[[0.0, 2.0, 4.0],
                    [6.0, 8.0, 10.0]]]])
    out = warp_affine(x, affine_matrices(2, 3, shift=(0.5, 0.0)))
    # output (y, x) reads the input at x - 0.5: halfway between x-1 (zero outside) and x
    np.testing.assert_array_equal(out, [[[[0.0, 1.0, 3.0],
                                          [3.0, 7.0, 9.0]]]])


def test_zoom_two_about_the_centre_by_hand():
    # 4x4, centre (1.5, 1.5): output pixel x reads the input at 1.5 + (x - 1.5) / 2
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    out = warp_affine(x, affine_matrices(4, 4, zoom=2.0))
    src = 1.5 + (np.arange(4) - 1.5) / 2                  # 0.75, 1.25, 1.75, 2.25
    row_interp = np.array([np.interp(src, np.arange(4), row) for row in x[0, 0]])
    expected = np.array([np.interp(src, np.arange(4), col) for col in row_interp.T]).T
    np.testing.assert_allclose(out[0, 0], expected, atol=1e-12)


def test_points_outside_the_image_give_zero():
    x = np.ones((1, 1, 5, 5), np.float32)
    out = warp_affine(x, affine_matrices(5, 5, shift=(10.0, 0.0)))
    assert not out.any()


# -- the kernel against its twin ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(6, 1, 28, 28), (3, 3, 8, 12), (2, 2, 1, 5)])
def test_kernel_equals_reference_on_random_warps(dtype, shape):
    rng = np.random.default_rng(3)
    x = _images(rng, shape, dtype)
    maps = random_affine_matrices(shape[0], shape[2], shape[3], rng, shift=0.3,
                                  rotation=40, scale=0.3, shear=20)
    out = warp_affine(x, maps)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_allclose(out, warp_affine_reference(x, maps),
                               rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-7)


def test_warp_is_linear_in_the_image():
    rng = np.random.default_rng(4)
    a, b = _images(rng), _images(rng)
    maps = random_affine_matrices(4, 7, 9, rng, rotation=30, scale=0.2)
    np.testing.assert_allclose(warp_affine(2 * a - b, maps),
                               2 * warp_affine(a, maps) - warp_affine(b, maps), atol=1e-5)


def test_warp_checks_its_input():
    x = np.zeros((2, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match=r"expected float images \(N, C, H, W\), got an array "
                                         r"\(2, 16\)"):
        warp_affine(x.reshape(2, 16), affine_matrices(4, 4).repeat(2, axis=0))
    with pytest.raises(ValueError, match=r"expected inverse maps of shape \(2, 2, 3\), got "
                                         r"\(1, 2, 3\)"):
        warp_affine(x, affine_matrices(4, 4))
    with pytest.raises(ValueError, match="expected out as a new array"):
        warp_affine(x, affine_matrices(4, 4).repeat(2, axis=0), out=x)


# -- the random draw -------------------------------------------------------------------------

def test_random_maps_stay_within_their_ranges():
    rng = np.random.default_rng(5)
    maps = random_affine_matrices(2000, 20, 10, rng, shift=0.1, rotation=10)
    M, b = maps[:, :, :2], maps[:, :, 2]
    A = np.linalg.inv(M)
    theta = np.degrees(np.arctan2(A[:, 0, 1], A[:, 0, 0]))
    assert np.abs(theta).max() <= 10 and np.abs(theta).max() > 9.9
    np.testing.assert_allclose(np.linalg.det(A), 1.0)      # no zoom, no shear
    c = np.array([4.5, 9.5])
    t = np.einsum("nij,nj->ni", A, c - b) - c               # from b = c - M (c + t)
    assert np.abs(t[:, 0]).max() <= 1.0 < np.abs(t[:, 0]).max() + 0.01   # 0.1 * width 10
    assert np.abs(t[:, 1]).max() <= 2.0 < np.abs(t[:, 1]).max() + 0.01   # 0.1 * height 20


def test_blank_margins_by_hand():
    img = np.zeros((3, 2, 6, 7))
    img[0, 1, 2, 1] = 1.0             # one pixel in the second channel
    img[1, 0, :, 3] = 5.0             # a full column, and a faint pixel below the threshold
    img[1, 0, 0, 0] = 0.4
    # image 2 is blank: no room claimed
    np.testing.assert_array_equal(blank_margins(img), [[1, 5, 2, 3], [3, 3, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(blank_margins(img, threshold=0.05)[1], [0, 3, 0, 0])


def test_keep_inside_never_pushes_content_out_of_the_frame():
    # bilinear weights sum to 1, so a shift keeps the total ink exactly when none leaves
    rng = np.random.default_rng(11)
    x = np.zeros((200, 1, 8, 8), np.float32)
    rows, cols = rng.integers(0, 8, (2, 200))
    x[np.arange(200), 0, rows, cols] = 1.0
    inside = RandomAffine(shift=0.4, rotation=0)(x, np.random.default_rng(0))
    np.testing.assert_allclose(inside.sum(axis=(1, 2, 3)), 1.0, rtol=1e-6)
    cropped = RandomAffine(shift=0.4, rotation=0, keep_inside=False)(x, np.random.default_rng(0))
    assert (cropped.sum(axis=(1, 2, 3)) < 0.99).mean() > 0.3
    # with room to spare both draw the same shifts: the margins bind only near the edges
    centred = np.zeros((50, 1, 28, 28), np.float32)
    centred[:, 0, 10:18, 10:18] = rng.random((50, 8, 8))
    np.testing.assert_array_equal(
        RandomAffine(shift=0.1)(centred, np.random.default_rng(1)),
        RandomAffine(shift=0.1, keep_inside=False)(centred, np.random.default_rng(1)))


def test_random_affine_is_seeded_and_keeps_shape_and_dtype():
    x = _images(np.random.default_rng(6), (5, 1, 8, 8))
    aug = RandomAffine(image_shape=(8, 8))
    a = aug(x.reshape(5, 64), np.random.default_rng(9))
    b = aug(x.reshape(5, 64), np.random.default_rng(9))
    c = aug(x, np.random.default_rng(9))
    assert a.shape == (5, 64) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a.reshape(x.shape), c)
    assert not np.array_equal(a, aug(x.reshape(5, 64), np.random.default_rng(10)))
    assert np.array_equal(x, _images(np.random.default_rng(6), (5, 1, 8, 8)))   # not in place


def test_random_affine_refuses_bad_settings_and_batches():
    for kwargs, message in (({"shift": 1.0}, "expected 0 <= shift < 1, got shift=1.0"),
                            ({"rotation": -1}, "expected 0 <= rotation <= 180, got rotation=-1"),
                            ({"scale": True}, "expected 0 <= scale < 1, got scale=True"),
                            ({"shear": 90}, "expected 0 <= shear < 90, got shear=90")):
        with pytest.raises(ValueError, match=f"RandomAffine: {message}"):
            RandomAffine(**kwargs)
    with pytest.raises(ValueError, match=r"flat rows \(N, C\*H\*W\) with image_shape given "
                                         r"\(image_shape=None\), got a batch \(3, 64\)"):
        RandomAffine()(np.zeros((3, 64), np.float32), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"expected images of shape \(1, 8, 8\), got a batch "
                                         r"\(3, 1, 7, 7\)"):
        RandomAffine(image_shape=(8, 8))(np.zeros((3, 1, 7, 7)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="expected a float batch, got an array"):
        RandomAffine()(np.zeros((3, 1, 7, 7), np.uint8), np.random.default_rng(0))


# -- in training -----------------------------------------------------------------------------

class _RecordingMSE(MSELoss):
    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, pred, target):
        self.seen.append(target.copy())
        return super().forward(pred, target)


def test_fit_trains_an_autoencoder_on_the_augmented_batch_as_input_and_target():
    rng = np.random.default_rng(7)
    X = rng.random((40, 16)).astype(np.float32)
    inputs = []

    def aug(xb, r):
        out = RandomAffine(image_shape=(4, 4))(xb, r)
        inputs.append(out)
        return out

    model = Sequential([Dense(16, 3, random_state=0), ReLU(), Dense(3, 16, random_state=1)])
    loss = _RecordingMSE()
    model.fit(X, X, loss=loss, optimizer=Adam(model.parameters()), epochs=2, batch_size=16,
              random_state=0, verbose=False, augment=aug)
    assert len(inputs) == len(loss.seen) == 6
    for x_aug, target in zip(inputs, loss.seen):
        np.testing.assert_array_equal(target, x_aug)       # the target is the moved image
    # with another target array, the target is left alone
    loss, Y = _RecordingMSE(), X.copy()
    model.fit(X, Y, loss=loss, optimizer=Adam(model.parameters()), epochs=1, batch_size=40,
              random_state=0, verbose=False, shuffle=False, augment=aug)
    np.testing.assert_array_equal(loss.seen[0], Y)


def test_augmented_fit_is_seeded_and_resumes_like_one_run():
    X = np.random.default_rng(8).random((60, 64)).astype(np.float32)

    def train(epochs, initial_epoch=0, ae=None):
        ae = ae or dense_autoencoder((64, 8, 3), random_state=0)
        ae.fit(X, epochs=epochs, initial_epoch=initial_epoch, batch_size=16, random_state=4,
               verbose=False, augment=RandomAffine(image_shape=(8, 8)))
        return ae

    one, two = train(3), train(3)
    for a, b in zip(one.model.parameters(), two.model.parameters()):
        np.testing.assert_array_equal(a.value, b.value)
    resumed = train(3, initial_epoch=1, ae=train(1))
    for a, b in zip(one.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(a.value, b.value)
    plain = dense_autoencoder((64, 8, 3), random_state=0)
    plain.fit(X, epochs=3, batch_size=16, random_state=4, verbose=False)
    assert not np.array_equal(plain.model.parameters()[0].value, one.model.parameters()[0].value)


def test_fit_refuses_an_augment_that_is_not_callable():
    model = Sequential([Dense(4, 4, random_state=0)])
    X = np.zeros((8, 4), np.float32)
    with pytest.raises(TypeError, match=r"fit: expected augment as a callable \(batch, rng\) "
                                        r"-> batch, got float"):
        model.fit(X, X, loss="mse", optimizer=Adam(model.parameters()), augment=0.1,
                  verbose=False)


def _dec_data(rng, n=120):
    # two kinds of 6x6 images: a bar across or a bar down, at random places
    X = np.zeros((n, 1, 6, 6), np.float32)
    y = rng.integers(2, size=n)
    pos = rng.integers(1, 5, size=n)
    for i in range(n):
        if y[i]:
            X[i, 0, pos[i], :] = 1
        else:
            X[i, 0, :, pos[i]] = 1
    return X.reshape(n, 36), y


def test_dec_with_augment_trains_on_variants_and_resumes_exactly(tmp_path):
    X, y = _dec_data(np.random.default_rng(9))
    seen = []

    def aug(xb, r):
        out = RandomAffine(shift=0.1, rotation=10, image_shape=(6, 6))(xb, r)
        seen.append(out)
        return out

    def run(**kw):
        enc = Sequential([Dense(36, 8, random_state=1), ReLU(), Dense(8, 2, random_state=2)])
        return DEC(enc, 2, update_interval=5, max_iter=20, tol=0.0, batch_size=32, n_init=2,
                   random_state=0, verbose=False, augment=aug, **kw)

    full = run().fit(X, y, checkpoint=tmp_path / "full.npz")
    assert len(seen) == 20 and not any(np.array_equal(s, X[:len(s)]) for s in seen)
    plain = DEC(Sequential([Dense(36, 8, random_state=1), ReLU(), Dense(8, 2, random_state=2)]),
                2, update_interval=5, max_iter=20, tol=0.0, batch_size=32, n_init=2,
                random_state=0, verbose=False).fit(X, y)
    assert not np.array_equal(plain.cluster_centers_, full.cluster_centers_)

    def stop_at_15(dec, logs):
        if logs["iteration"] == 15:
            raise KeyboardInterrupt   # the file holds the refresh of step 10

    path = tmp_path / "run.npz"
    with pytest.raises(KeyboardInterrupt):
        run(callbacks=[stop_at_15]).fit(X, y, checkpoint=path)
    resumed = run().fit(X, y, checkpoint=path, resume=True)
    np.testing.assert_array_equal(resumed.cluster_centers_, full.cluster_centers_)
    np.testing.assert_array_equal(resumed.labels_, full.labels_)


def test_dec_refuses_an_augment_that_is_not_callable():
    enc = Sequential([Dense(36, 2, random_state=1)])
    with pytest.raises(ValueError, match="DEC: augment must be None or a callable"):
        DEC(enc, 2, augment="affine", verbose=False).fit(np.zeros((10, 36), np.float32))


@pytest.mark.parametrize("shape", [(7, 1, 28, 28), (4, 3, 9, 5), (3, 2, 1, 6)])
def test_blank_margins_kernel_matches_the_numpy_definition(shape):
    rng = np.random.default_rng(3)
    img = (rng.random(shape) * (rng.random(shape) > 0.9)).astype(np.float32)
    img[0] = 0                                   # a blank image: no room at all
    img[-1, :, 0, 0] = -2.0                      # negative values count by their size
    np.testing.assert_array_equal(blank_margins(img), blank_margins_reference(img))
    assert blank_margins(img)[0].tolist() == [0, 0, 0, 0]


def test_blank_margins_refuses_what_is_not_an_image_batch():
    with pytest.raises(ValueError, match=r"expected float images \(N, C, H, W\)"):
        blank_margins(np.zeros((3, 28, 28), np.float32))
