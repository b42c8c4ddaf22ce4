"""load_image_folder on the folders people really have: sub-folders, BMP and WebP, EXIF-rotated phone photos, 16-bit scans, and a
hostile PNG whose header claims 100000 × 100000 pixels."""
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, features

from scratchnet.datasets.images import find_image_files, load_image_folder


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_png():
    """A few dozen bytes: an RGB IHDR of 100000 × 100000 and a token IDAT."""
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 10)) + _png_chunk(b"IEND", b""))


def _flat(colour, size=(6, 6)):
    a = np.zeros(size + (3,), np.uint8)
    a[...] = colour
    return Image.fromarray(a)


def test_a_decompression_bomb_is_skipped_with_a_warning_naming_it(tmp_path):
    (tmp_path / "bomb.png").write_bytes(_bomb_png())
    _flat((200, 0, 0)).save(tmp_path / "ok.png")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable.*bomb\.png "
                                         r"\(DecompressionBombError"):
        X, paths = load_image_folder(tmp_path, size=(4, 4))
    assert X.shape == (1, 3, 4, 4) and paths[0].endswith("ok.png")


def test_sub_folders_are_read_and_hidden_ones_are_not(tmp_path):
    (tmp_path / "2023" / "june").mkdir(parents=True)
    (tmp_path / ".thumbnails").mkdir()
    _flat((10, 10, 10)).save(tmp_path / "top.png")
    _flat((20, 20, 20)).save(tmp_path / "2023" / "a.png")
    _flat((30, 30, 30)).save(tmp_path / "2023" / "june" / "b.jpg")
    _flat((40, 40, 40)).save(tmp_path / ".thumbnails" / "t.png")
    _flat((50, 50, 50)).save(tmp_path / ".hidden.png")
    (tmp_path / "2023" / "notes.txt").write_text("not an image")
    files, skipped, left_out = find_image_files(tmp_path)
    assert [f.relative_to(tmp_path).as_posix() for f in files] == \
        ["2023/a.png", "2023/june/b.jpg", "top.png"]
    assert skipped == 1 and left_out == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, paths = load_image_folder(tmp_path, size=(3, 3))
    assert len(X) == 3 and X[0, 0, 0, 0] == 20 and X[2, 0, 0, 0] == 10


@pytest.mark.parametrize("ext", [".bmp", ".webp", ".tif", ".gif"])
def test_other_formats_pillow_reads_are_read(tmp_path, ext):
    if ext == ".webp" and not features.check("webp"):
        pytest.skip("this Pillow was built without WebP")
    options = {"lossless": True} if ext == ".webp" else {}
    _flat((0, 0, 255)).save(tmp_path / f"x{ext}", **options)
    X, _ = load_image_folder(tmp_path, size=(6, 6))
    assert X.shape == (1, 3, 6, 6)
    assert X[0, 2].min() >= 250 and X[0, 0].max() <= 5


def test_exif_orientation_is_applied(tmp_path):
    # Stored as 4 rows × 8 columns, left half red, right half blue, with orientation 6
    # ("rotate 90° clockwise to view"): upright it is 8 rows × 4, red on top.
    a = np.zeros((4, 8, 3), np.uint8)
    a[:, :4, 0] = 255
    a[:, 4:, 2] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(a).save(tmp_path / "phone.png", exif=exif)
    X, _ = load_image_folder(tmp_path, size=(8, 4))
    assert X[0, 0, :3].min() == 255 and X[0, 2, :3].max() == 0     # red on top
    assert X[0, 2, 5:].min() == 255 and X[0, 0, 5:].max() == 0      # blue below


@pytest.mark.parametrize("grayscale", [True, False])
def test_16_bit_grey_is_scaled_by_its_bit_depth_not_clipped(tmp_path, grayscale):
    levels = np.array([[0, 16384, 32768, 65535]], dtype=np.uint16).repeat(4, axis=0)
    Image.fromarray(levels).save(tmp_path / "scan.png")
    assert Image.open(tmp_path / "scan.png").mode.startswith("I")
    X, _ = load_image_folder(tmp_path, size=(4, 4), grayscale=grayscale)
    np.testing.assert_array_equal(X[0, 0, 0], [0, 64, 128, 255])   # v * 255 / 65535, rounded


@pytest.mark.parametrize("grayscale", [True, False])
def test_32_bit_float_tiff_in_0_1_is_scaled_not_read_as_black(tmp_path, grayscale):
    levels = np.array([[0.0, 0.25, 0.5, 1.0]], dtype=np.float32).repeat(4, axis=0)
    Image.fromarray(levels, mode="F").save(tmp_path / "scan.tif")
    assert Image.open(tmp_path / "scan.tif").mode == "F"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, _ = load_image_folder(tmp_path, size=(4, 4), grayscale=grayscale)
    np.testing.assert_array_equal(X[0, 0, 0], [0, 64, 128, 255])


def test_32_bit_float_tiff_of_another_range_is_stretched_with_a_warning(tmp_path):
    levels = np.array([[-2.0, 0.0, 2.0, 6.0]], dtype=np.float32).repeat(4, axis=0)
    Image.fromarray(levels, mode="F").save(tmp_path / "depth.tif")
    with pytest.warns(UserWarning, match=r"depth.tif: a 32-bit float image with values in "
                                         r"\[-2, 6\], not \[0, 1\]"):
        X, _ = load_image_folder(tmp_path, size=(4, 4), grayscale=True)
    np.testing.assert_array_equal(X[0, 0, 0], [0, 64, 128, 255])
