"""The clustering helpers around K-means: cluster-size entropy, rows centred and scaled to
unit length."""
import math

import numpy as np
import pytest

from scratchnet.cluster import center_and_normalize, size_entropy


def test_size_entropy_of_even_uneven_and_empty_clusters():
    assert size_entropy(np.repeat(np.arange(4), 5), 4) == pytest.approx(math.log(4))
    assert size_entropy(np.zeros(7, dtype=int), 3) == 0.0
    labels = np.array([0, 0, 0, 2])                          # cluster 1 is empty
    expected = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert size_entropy(labels, 3) == pytest.approx(expected)


def test_center_and_normalize_rows_are_centred_unit_vectors():
    rng = np.random.default_rng(0)
    X = (rng.random((50, 12)) * rng.random((50, 1)) + rng.random((50, 1))).astype(np.float32)
    X[3] = 0.25                                       # a constant image
    Z = center_and_normalize(X)
    assert Z.dtype == np.float32 and Z.shape == X.shape and np.isfinite(Z).all()
    keep = np.arange(50) != 3
    np.testing.assert_allclose(Z[keep].mean(axis=1), 0, atol=1e-5)   # float32 rounding
    np.testing.assert_allclose(np.linalg.norm(Z[keep], axis=1), 1, rtol=1e-5)
    assert not Z[3].any()
    # brightness and contrast do not change the result (float64: 3x + 7 in float32 would lose
    # the low bits of the low-contrast rows)
    X64 = X[keep].astype(np.float64)
    np.testing.assert_allclose(center_and_normalize(3 * X64 + 7), center_and_normalize(X64),
                               atol=1e-12)


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((2, 3), dtype=int)])
def test_center_and_normalize_rejects_non_float_or_non_2d(bad):
    with pytest.raises(ValueError, match="2-D float array"):
        center_and_normalize(bad)
