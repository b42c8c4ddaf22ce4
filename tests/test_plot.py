"""Every figure: a PNG that exists, opens and has the expected axes; content checks where a
figure encodes a result (matched order, PCA projection); error messages on bad input."""
import matplotlib
import matplotlib.image as mpimg
import numpy as np
import pytest

from scratchnet import plot
from scratchnet.decomposition import PCA


def _check_png(fig, path, n_axes):
    """The file exists, is non-empty, decodes, has the figure's pixel size; axes counted."""
    assert path.is_file() and path.stat().st_size > 0
    pixels = mpimg.imread(path)
    w, h = np.round(fig.get_size_inches() * fig.dpi).astype(int)
    assert pixels.shape[:2] == (h, w)
    assert len(fig.axes) == n_axes
    # Written atomically: no temporary file left beside it.
    assert sorted(p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")) == []
    return pixels


def _lsa():
    try:
        from scratchnet.metrics import linear_sum_assignment  # noqa: F401
    except ImportError as err:
        pytest.skip(f"scratchnet.metrics.linear_sum_assignment is not there yet ({err}); "
                    "confusion_matrix needs it for the Hungarian order")


# --------------------------------------------------------------------------- image figures

def test_reconstructions_uint8_gray_rows_in_the_right_place(tmp_path):
    rng = np.random.default_rng(0)
    originals = np.zeros((12, 1, 8, 8), dtype=np.uint8)            # black
    recon = np.full((12, 1, 8, 8), 255, dtype=np.uint8)            # white
    recon[:, 0, 0, 0] = rng.integers(0, 255, 12)
    path = tmp_path / "new" / "dir" / "recon.png"                   # parents get created
    fig = plot.reconstructions(originals, recon, n=5, path=path)
    pixels = _check_png(fig, path, n_axes=10)
    # Originals on top, reconstructions below: the first row's images are black.
    top = fig.axes[0].get_images()[0].get_array()
    bottom = fig.axes[5].get_images()[0].get_array()
    assert top.max() == 0.0 and bottom[1:, 1:].min() == 1.0
    gray = pixels[..., :3].mean(axis=2)
    h = gray.shape[0]
    assert gray[: h // 2].mean() < gray[h // 2:].mean()


def test_reconstructions_float_rgb_and_n_clipped(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.random((3, 3, 6, 5))
    path = tmp_path / "r.png"
    fig = plot.reconstructions(x, np.clip(x + 0.1, 0, 1), n=10, path=path)
    _check_png(fig, path, n_axes=6)
    shown = fig.axes[0].get_images()[0].get_array()
    np.testing.assert_allclose(shown, x[0].transpose(1, 2, 0))     # NCHW -> HWC, same values


def test_float_images_outside_unit_range_are_clipped():
    # A linear decoder can output values outside [0, 1]; they are clipped, not rescaled.
    x = np.array([[[[-0.5, 0.25], [0.75, 1.5]]]])
    shown = plot.image_grid(x).axes[0].get_images()[0].get_array()
    np.testing.assert_allclose(shown, [[0.0, 0.25], [0.75, 1.0]])


def test_image_grid_drops_unused_cells_and_titles(tmp_path):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (7, 3, 4, 4), dtype=np.uint8)
    path = tmp_path / "grid.png"
    fig = plot.image_grid(images, ncols=3, titles=list("abcdefg"), path=path)
    _check_png(fig, path, n_axes=7)
    assert [ax.get_title() for ax in fig.axes] == list("abcdefg")
    np.testing.assert_allclose(fig.axes[6].get_images()[0].get_array(),
                               images[6].transpose(1, 2, 0) / 255.0)


def test_decoded_centroids_titles(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "centroids.png"
    fig = plot.decoded_centroids(rng.random((4, 1, 6, 6)).astype(np.float32), path=path)
    _check_png(fig, path, n_axes=4)
    assert [ax.get_title() for ax in fig.axes] == [f"cluster {j}" for j in range(4)]


def test_cluster_contact_sheet_rows_and_seeded_choice(tmp_path):
    rng = np.random.default_rng(4)
    images = rng.random((30, 1, 5, 5))
    labels = np.array([2] * 2 + [5] * 18 + [7] * 10)                 # one cluster smaller than n
    path = tmp_path / "sheet.png"
    fig = plot.cluster_contact_sheet(images, labels, n_per_cluster=4, path=path, random_state=0)
    _check_png(fig, path, n_axes=2 + 4 + 4)
    ylabels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert ylabels == ["cluster 2\n(n = 2)", "cluster 5\n(n = 18)", "cluster 7\n(n = 10)"]
    # Every image shown in row "cluster 5" really belongs to cluster 5.
    row5 = [ax.get_images()[0].get_array() for ax in fig.axes[2:6]]
    members = images[labels == 5][:, 0]
    for shown in row5:
        assert any(np.array_equal(shown, m) for m in members)
    # Same seed, same sheet; another seed, (almost surely) another choice.
    again = plot.cluster_contact_sheet(images, labels, n_per_cluster=4, random_state=0)
    other = plot.cluster_contact_sheet(images, labels, n_per_cluster=4, random_state=1)
    first = [ax.get_images()[0].get_array() for ax in fig.axes]
    assert all(np.array_equal(a, ax.get_images()[0].get_array())
               for a, ax in zip(first, again.axes))
    assert not all(np.array_equal(a, ax.get_images()[0].get_array())
                   for a, ax in zip(first, other.axes))


# --------------------------------------------------------------------------- codes

def _centroid_offsets(ax):
    return [c for c in ax.collections if c.get_label() == "centroids"]


def test_scatter_codes_2d_with_legend_and_centroids(tmp_path):
    rng = np.random.default_rng(5)
    codes = rng.standard_normal((60, 2))
    labels = np.repeat([0, 1, 2], 20)
    centers = np.array([[0.0, 1.0], [2.0, -1.0], [-3.0, 0.5]])
    path = tmp_path / "scatter2d.png"
    fig = plot.scatter_codes(codes, labels, centers=centers, path=path, title="codes")
    _check_png(fig, path, n_axes=1)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["0", "1", "2", "centroids"]
    (marks,) = _centroid_offsets(ax)
    np.testing.assert_allclose(marks.get_offsets(), centers)


def test_scatter_codes_3d(tmp_path):
    rng = np.random.default_rng(6)
    path = tmp_path / "scatter3d.png"
    fig = plot.scatter_codes(rng.random((50, 3)), rng.integers(0, 4, 50),
                             centers=rng.random((4, 3)), path=path)
    _check_png(fig, path, n_axes=1)
    assert fig.axes[0].name == "3d"
    assert len(_centroid_offsets(fig.axes[0])) == 1


def test_scatter_codes_pca_projects_codes_and_centers_alike(tmp_path):
    rng = np.random.default_rng(7)
    codes = rng.standard_normal((80, 8)) * np.arange(8, 0, -1)
    labels = rng.integers(0, 3, 80)
    centers = rng.standard_normal((3, 8))
    path = tmp_path / "scatter_pca.png"
    fig = plot.scatter_codes(codes, labels, centers=centers, path=path)
    _check_png(fig, path, n_axes=1)
    ax = fig.axes[0]
    pca = PCA(2).fit(codes)
    (marks,) = _centroid_offsets(ax)
    np.testing.assert_allclose(marks.get_offsets(), pca.transform(centers), atol=1e-10)
    points = np.concatenate([c.get_offsets() for c in ax.collections if c is not marks])
    expected = pca.transform(codes)
    order = lambda a: a[np.lexsort(a.T)]  # noqa: E731  (legend groups reorder the points)
    np.testing.assert_allclose(order(np.asarray(points)), order(expected), atol=1e-10)
    assert ax.get_xlabel().startswith("PC1 (") and "PCA of 8-d codes" in ax.get_title()


def test_scatter_codes_many_labels_get_a_colorbar(tmp_path):
    rng = np.random.default_rng(8)
    path = tmp_path / "many.png"
    fig = plot.scatter_codes(rng.random((100, 2)), np.arange(100) % 25, path=path)
    _check_png(fig, path, n_axes=2)
    assert fig.axes[0].get_legend() is None


# --------------------------------------------------------------------------- confusion matrix

def test_confusion_matrix_of_data_holding_some_classes_names_them_by_id(tmp_path):
    """12 images of a 10-class dataset hold 8 classes: the dataset's 10 names still label
    the rows, each by its class id (the figure used to be lost to a count mismatch)."""
    names = [f"class{c}" for c in range(10)]
    y_true = np.array([0, 1, 2, 3, 5, 6, 8, 9, 0, 1, 2, 3])
    fig = plot.confusion_matrix(y_true, y_true % 4, path=tmp_path / "cm.png", class_names=names)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["class0", "class1", "class2", "class3", "class5", "class6", "class8",
                      "class9"]
    with pytest.raises(ValueError, match=r"expected 8 class_names \(one per class in y_true\), "
                                         r"or one per class id 0..9 for integer classes, got 5"):
        plot.confusion_matrix(y_true, y_true % 4, class_names=names[:5])


def test_confusion_matrix_permuted_labelling_lands_on_the_diagonal(tmp_path):
    _lsa()
    rng = np.random.default_rng(9)
    y_true = rng.integers(0, 4, 200)
    relabel = np.array([2, 0, 3, 1])                   # cluster id of each class
    y_pred = relabel[y_true]
    path = tmp_path / "cm.png"
    fig = plot.confusion_matrix(y_true, y_pred, path=path,
                                class_names=["a", "b", "c", "d"])
    _check_png(fig, path, n_axes=2)
    ax = fig.axes[0]
    shown = np.asarray(ax.get_images()[0].get_array())
    np.testing.assert_array_equal(shown, np.diag(np.bincount(y_true, minlength=4)))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "0", "3", "1"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c", "d"]
    assert "matched accuracy = 1.000" in ax.get_title()
    annotated = sorted(int(t.get_text()) for t in ax.texts)
    assert annotated == sorted(shown.ravel().tolist())


def test_confusion_matrix_noisy_rectangular(tmp_path):
    _lsa()
    rng = np.random.default_rng(10)
    y_true = rng.integers(0, 3, 300)
    y_pred = np.array([4, 1, 0])[y_true]
    noisy = rng.random(300) < 0.2
    y_pred[noisy] = rng.integers(0, 5, noisy.sum())     # 5 clusters for 3 classes
    path = tmp_path / "cm_rect.png"
    fig = plot.confusion_matrix(y_true, y_pred, path=path)
    _check_png(fig, path, n_axes=2)
    ax = fig.axes[0]
    shown = np.asarray(ax.get_images()[0].get_array())
    assert shown.shape == (3, 5)
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["4", "1", "0"]
    acc = np.trace(shown[:, :3]) / 300
    assert acc > 0.8 and f"matched accuracy = {acc:.3f}" in ax.get_title()


# --------------------------------------------------------------------------- losses

def test_loss_curves_dict_and_history_object(tmp_path):
    history = {"loss": [0.9, 0.5, 0.3, 0.25], "val_loss": [1.0, 0.6, 0.45, 0.4], "lr": [1e-3] * 2}
    path = tmp_path / "loss.png"
    fig = plot.loss_curves(history, path=path)
    _check_png(fig, path, n_axes=1)
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["loss", "val_loss", "lr"]
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(lines[1].get_ydata(), history["val_loss"])
    assert lines[1].get_color() == lines[0].get_color() != lines[2].get_color()
    assert lines[1].get_linestyle() == "--" and lines[0].get_linestyle() == "-"

    class History:  # Keras's History keeps the dict in .history
        pass
    h = History()
    h.history = {"loss": [1.0, 0.5], "val_loss": []}   # no validation data: empty series
    ax = plot.loss_curves(h).axes[0]
    assert [ln.get_label() for ln in ax.get_lines()] == ["loss"]
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)     # epochs, not 1.02

    one_epoch = plot.loss_curves({"loss": [0.69]}).axes[0]
    assert [t for t in one_epoch.get_xticks() if 0.5 <= t <= 1.5] == [1.0]


# --------------------------------------------------------------------------- contract

def test_no_file_without_path_and_no_pyplot_figures_leak(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    monkeypatch.chdir(tmp_path)
    before = plt.get_fignums()
    rng = np.random.default_rng(11)
    imgs = rng.random((4, 1, 4, 4))
    for fig in (plot.image_grid(imgs), plot.reconstructions(imgs, imgs),
                plot.loss_curves({"loss": [1, 2]}), plot.scatter_codes(rng.random((5, 2)))):
        assert isinstance(fig, matplotlib.figure.Figure)
    assert plt.get_fignums() == before
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("call, message", [
    (lambda: plot.image_grid(np.zeros((8, 28, 28, 1))),
     r"image_grid: expected images \(N, C, H, W\) with C in \{1, 3\}, got \(8, 28, 28, 1\)"),
    (lambda: plot.image_grid(np.zeros((28, 28))),
     r"image_grid: expected images \(N, C, H, W\) with C in \{1, 3\}, got \(28, 28\)"),
    (lambda: plot.image_grid(np.zeros((3, 1, 4, 4)), titles=["a"]),
     r"image_grid: expected 3 titles \(one per image\), got 1"),
    (lambda: plot.reconstructions(np.zeros((2, 1, 4, 4)), np.zeros((2, 1, 5, 5))),
     r"reconstructions: expected reconstructed of the originals' shape \(2, 1, 4, 4\), "
     r"got \(2, 1, 5, 5\)"),
    (lambda: plot.reconstructions(np.zeros((2, 2, 4, 4)), np.zeros((2, 2, 4, 4))),
     r"reconstructions: expected originals \(N, C, H, W\) with C in \{1, 3\}, got \(2, 2, 4, 4\)"),
    (lambda: plot.decoded_centroids(np.zeros((4, 16))),
     r"decoded_centroids: expected images \(N, C, H, W\) with C in \{1, 3\}, got \(4, 16\)"),
    (lambda: plot.cluster_contact_sheet(np.zeros((4, 1, 3, 3)), np.zeros(5)),
     r"cluster_contact_sheet: expected labels of shape \(4,\), got \(5,\)"),
    (lambda: plot.scatter_codes(np.zeros((10, 1))),
     r"scatter_codes: expected numeric codes \(N, D\) with D >= 2, got shape \(10, 1\)"),
    (lambda: plot.scatter_codes(np.zeros((10, 4)), centers=np.zeros((3, 2))),
     r"scatter_codes: expected centers \(K, 4\) like the codes, got \(3, 2\)"),
    (lambda: plot.confusion_matrix([0, 1, 1], [0, 1]),
     r"confusion_matrix: expected y_pred of shape \(3,\), got \(2,\)"),
    (lambda: plot.loss_curves({}), r"loss_curves: expected a non-empty dict"),
    (lambda: plot.loss_curves({"loss": [[1, 2]]}),
     r"loss_curves: expected series 'loss' to be a 1-D sequence, got shape \(1, 2\)"),
    (lambda: plot.loss_curves({"loss": [], "val_loss": []}),
     r"loss_curves: every series is empty"),
])
def test_errors_name_function_expected_and_actual(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bool_images_rejected():
    with pytest.raises(TypeError, match=r"image_grid: expected integer \(0..255\) or float"):
        plot.image_grid(np.zeros((2, 1, 3, 3), dtype=bool))
