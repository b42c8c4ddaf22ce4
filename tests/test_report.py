"""report.html: built from metrics.json and the figures only, self-contained, escaped; the
examples and subcommands write it; ``scratchnet report`` rebuilds it; and it renders in a real
browser (headless Chromium) to a page that is not blank and logs no error."""
import base64
import html.parser
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scratchnet.cli import main
from scratchnet.experiment import Figures, write_metrics_and_figures
from scratchnet.report import cluster_gallery, write_report

from ._synthetic import write_idx_split

REPO = Path(__file__).resolve().parents[1]


class _Page(html.parser.HTMLParser):
    """The page's images, table rows (as text) and tags, as a browser's parser sees them."""

    def __init__(self, text):
        super().__init__()
        self.images, self.rows, self.tags, self._row, self._classes = [], [], [], None, []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs)
        if tag == "tr":
            self._row, self._classes = [], attrs.get("class", "")

    def handle_data(self, data):
        if self._row is not None:
            self._row.append(data)

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append(("".join(self._row), self._classes))
            self._row = None


def _png(path, seed):
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random((20, 30, 3)) * 255).astype(np.uint8)).save(path)


def _example_run(out, seeds=2, evil="<script>alert(1)</script>"):
    """A run folder as run_seeds writes it: two seeds, an answer, a gallery with a hostile
    class name, one figure that failed."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.random((60, 1, 8, 8)).astype(np.float32)
    labels = np.repeat(np.arange(3), 20)
    figures = Figures(out)
    with figures.draw("loss", "ae_loss.png") as p:
        _png(p, 1)
    with figures.draw("confusion", "confusion_matrix.png") as p:
        _png(p, 2)
    with figures.draw("umap", "umap_layout.png"):
        raise ValueError("a figure that failed")
    figures.clusters = cluster_gallery(figures, images, labels, codes=rng.random((60, 4)),
                                       y=labels % 2, class_names=["zero", evil],
                                       decoded=images[:3])
    runs = [{"pixels + K-means": {"acc": 0.5 + s / 10, "nmi": 0.4, "ari": 0.3, "purity": 0.6,
                                  "seconds": 1.0},
             "N2D": {"acc": 0.9 - s / 100, "nmi": 0.8, "ari": 0.7, "purity": 0.9,
                     "seconds": 2.0}} for s in range(seeds)]
    for r in runs:
        r["final"] = dict(stage="N2D", **r["N2D"])
    metrics = {"args": {"dataset": "mnist", "split": "test", "seed": 0, "data_dir": evil},
               "runs": runs, "final": {"stage": "N2D"}, "wall_seconds": 3.0,
               **figures.record()}
    (out / "metrics.json").write_text(json.dumps(metrics))
    return out


def test_the_page_shows_every_stage_marks_the_answer_and_embeds_decodable_images(tmp_path):
    out = _example_run(tmp_path / "run")
    page_path = write_report(out)
    text = page_path.read_text(encoding="utf-8")
    page = _Page(text)
    assert "script" not in page.tags and "<script>alert" not in text      # escaped, not run
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.images)
    for img in page.images:                                 # every image decodes
        Image.open(io.BytesIO(base64.b64decode(img["src"].split(",", 1)[1]))).load()
    # loss, confusion, and 3 strips + 3 centroids
    assert len(page.images) == 8
    stage_rows = {row.split("\n")[0]: (row, cls) for row, cls in page.rows}
    answer = [row for row, cls in page.rows if "answer" in cls]
    assert len(answer) == 1 and answer[0].startswith("N2D") and "★" in answer[0]
    assert any(row.startswith("pixels + K-means") for row in stage_rows)
    assert "0.8950 ± 0.0050" in text and "0.5000" in text   # mean ± std, and the worst seed
    assert "<b>umap</b>: ValueError: a figure that failed" in text
    cluster_rows = [row for row, _ in page.rows if row.strip()[:1].isdigit()]
    assert len(cluster_rows) == 3 and all("20" in row for row in cluster_rows)
    assert "src=" not in text.split("<style>")[0] and "http" not in text   # nothing fetched


def test_scratchnet_report_rebuilds_a_run_and_refuses_what_is_not_one(tmp_path, capsys):
    out = _example_run(tmp_path / "run", seeds=1)
    (out / "report.html").unlink(missing_ok=True)
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").is_file() and "open it in a browser" in capsys.readouterr().out
    for target, says in [(tmp_path / "empty", "expected a run's folder (with the metrics.json"),
                         (tmp_path / "nothing", "no such folder")]:
        if target.name == "empty":
            target.mkdir()
        assert main(["report", str(target)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], err
    (tmp_path / "empty" / "metrics.json").write_text("[1, 2]")
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "expected a run's metrics" in capsys.readouterr().err


def test_a_failing_report_is_a_warning_not_a_failed_run(tmp_path, capsys, monkeypatch):
    import scratchnet.report
    monkeypatch.setattr(scratchnet.report, "_page", lambda out, metrics: 1 / 0)
    write_metrics_and_figures(tmp_path, {"scores": {"acc": 1.0}}, lambda figures: None)
    assert scratchnet.report.report_or_warn(tmp_path) is None
    assert "warning: report.html not written: ZeroDivisionError" in capsys.readouterr().err


def _photos(folder, n=12):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        a = rng.integers(0, 60, size=(16, 16, 3)).astype(np.uint8)
        a[..., i % 3] += 180
        Image.fromarray(a).save(folder / f"<b>photo_{i}.png")    # a hostile file name
    return folder


def test_subcommands_and_examples_write_the_page(tmp_path):
    photos = _photos(tmp_path / "photos")
    assert main(["cluster-images", str(photos), "--k", "3", "--steps", "3", "--n-init", "1",
                 "--size", "8", "--quiet", "--out", str(tmp_path / "ci")]) == 0
    text = (tmp_path / "ci" / "report.html").read_text()
    assert "<b>photo" not in text and "members (most typical first)" in text
    assert len([r for r, _ in _Page(text).rows if r.strip()[:1].isdigit()]) == 3

    write_idx_split(tmp_path / "idx", 120, 8, 8, split="test", seed=3)
    sys.path.insert(0, str(REPO / "examples"))
    try:
        import mnist_dense_ae_3d
    finally:
        sys.path.pop(0)
    assert mnist_dense_ae_3d.main(["--quick", "--quiet", "--dataset", "mnist", "--split", "test",
                                   "--data-dir", str(tmp_path / "idx"), "--n-init", "1",
                                   "--out", str(tmp_path / "w2")]) == 0
    text = (tmp_path / "w2" / "report.html").read_text()
    metrics = json.loads((tmp_path / "w2" / "metrics.json").read_text())
    for stage in metrics["runs"][0]:
        assert stage in text
    assert len(metrics["clusters"]) == 10 and "majority class" in text


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("SCRATCHNET_REQUIRE_BROWSER") == "1":
        pytest.fail("a browser is required (SCRATCHNET_REQUIRE_BROWSER=1) but none is "
                    "installed: apt-get install -y chromium")
    pytest.skip("no browser installed (apt-get install -y chromium): the page is not rendered")


def test_the_page_renders_in_a_real_browser_without_errors(tmp_path):
    browser = _browser()
    out = _example_run(tmp_path / "run")
    page = write_report(out)
    shot = tmp_path / "shot.png"
    run = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                          "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                          "--window-size=1100,1400", f"--screenshot={shot}", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert shot.is_file(), run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10                         # not a blank page
    assert (pixels < 128).mean() > 0.005             # some dark ink: text and images
