"""to_float32, to_grayscale, flatten and load_image_folder."""
import warnings

import numpy as np
import pytest
from PIL import Image

from scratchnet.datasets import flatten, load_image_folder, to_float32, to_grayscale


def test_to_float32_scales_by_255():
    X = np.array([[0, 1, 128, 255]], dtype=np.uint8)
    out = to_float32(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 1 / 255, 128 / 255, 1.0]], rtol=1e-7)


def test_to_float32_refuses_non_uint8():
    with pytest.raises(TypeError, match="expected a uint8 array, got float32"):
        to_float32(np.zeros((2, 2), np.float32))


def test_to_grayscale_hand_computed_uint8():
    X = np.zeros((1, 3, 1, 4), dtype=np.uint8)
    X[0, :, 0, 0] = (255, 0, 0)        # 0.299 * 255 = 76.245 -> 76
    X[0, :, 0, 1] = (0, 255, 0)        # 149.685 -> 150
    X[0, :, 0, 2] = (0, 0, 255)        # 29.07 -> 29
    X[0, :, 0, 3] = (255, 255, 255)    # 255
    out = to_grayscale(X)
    assert out.shape == (1, 1, 1, 4) and out.dtype == np.uint8
    assert out[0, 0, 0].tolist() == [76, 150, 29, 255]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_grayscale_float_keeps_dtype_and_matches_formula(dtype):
    rng = np.random.default_rng(20)
    X = rng.random((3, 3, 5, 6)).astype(dtype)
    out = to_grayscale(X)
    assert out.shape == (3, 1, 5, 6) and out.dtype == dtype
    expect = 0.299 * X[:, 0] + 0.587 * X[:, 1] + 0.114 * X[:, 2]
    np.testing.assert_allclose(out[:, 0], expect, rtol=1e-6)


def test_to_grayscale_agrees_with_pillow_within_one_level():
    rng = np.random.default_rng(21)
    X = rng.integers(0, 256, size=(1, 3, 16, 16), dtype=np.uint8)
    pil = np.asarray(Image.fromarray(X[0].transpose(1, 2, 0), "RGB").convert("L"))
    diff = np.abs(to_grayscale(X)[0, 0].astype(int) - pil.astype(int))
    assert diff.max() <= 1


def test_to_grayscale_validates_shape():
    with pytest.raises(ValueError, match=r"expected images \(N, C, H, W\), got shape \(4, 4, 3\)"):
        to_grayscale(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match=r"expected \(N, 3, H, W\) RGB images, got shape"):
        to_grayscale(np.zeros((2, 4, 3, 3), np.uint8))
    one = np.ones((2, 1, 3, 3), np.uint8)
    out = to_grayscale(one)
    np.testing.assert_array_equal(out, one)
    assert out is not one


def test_flatten_is_channel_major():
    X = np.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2)
    F = flatten(X)
    assert F.shape == (2, 12)
    np.testing.assert_array_equal(F[1], np.arange(12, 24))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        flatten(np.arange(3))


def _save(folder, name, arr, mode):
    Image.fromarray(arr, mode).save(folder / name)


def test_load_image_folder_resizes_sorts_and_reports_unreadable(tmp_path):
    rng = np.random.default_rng(22)
    red = np.zeros((40, 20, 3), np.uint8)
    red[..., 0] = 200
    _save(tmp_path, "b.png", red, "RGB")
    _save(tmp_path, "a.JPG", rng.integers(0, 256, (10, 10, 3), dtype=np.uint8), "RGB")
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 2] = 90
    rgba[..., 3] = 255
    _save(tmp_path, "c.png", rgba, "RGBA")
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    (tmp_path / "notes.txt").write_text("ignored: not an image extension")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable file\(s\).*broken\.png"):
        X, paths = load_image_folder(tmp_path, size=(6, 5))
    assert X.shape == (3, 3, 6, 5) and X.dtype == np.uint8
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["a.JPG", "b.png", "c.png"]
    np.testing.assert_array_equal(X[1, 0], 200)    # a flat colour survives resizing
    np.testing.assert_array_equal(X[1, 1:], 0)
    np.testing.assert_array_equal(X[2, 2], 90)     # RGBA: alpha dropped


def test_load_image_folder_grayscale_matches_to_grayscale(tmp_path):
    rng = np.random.default_rng(23)
    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    _save(tmp_path, "x.png", img, "RGB")
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # no warning when every file reads
        G, _ = load_image_folder(tmp_path, size=(8, 8), grayscale=True)
        C, _ = load_image_folder(tmp_path, size=(8, 8))
    assert G.shape == (1, 1, 8, 8)
    np.testing.assert_array_equal(C[0], img.transpose(2, 0, 1))  # same size: no resampling
    assert np.abs(G.astype(int) - to_grayscale(C).astype(int)).max() <= 1


def test_load_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"expected size \(height, width\) of positive ints"):
        load_image_folder(tmp_path, size=(0, 4))
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 truncated")
    with pytest.warns(UserWarning, match="bad.jpg"), \
            pytest.raises(ValueError, match=r"no readable .* image .*\(1 unreadable\)"):
        load_image_folder(tmp_path)
