"""The examples' and command line's shared scaffolding: figures that cannot lose a run's
results."""
import json

import pytest

from scratchnet.experiment import Figures, write_metrics_and_figures


def test_figures_records_what_was_drawn_and_what_failed(tmp_path, capsys):
    figures = Figures(tmp_path)
    with figures.draw("ok", "ok.png") as path:
        path.write_bytes(b"png")
    with figures.draw("bad", "bad.png") as path:
        raise ValueError("cannot reshape array of size 2560\ninto shape (1,28,28)")
        path.write_bytes(b"never")                     # the rest of the block is skipped
    assert figures.record() == {
        "figures": {"ok": str(tmp_path / "ok.png")},
        "figure_errors": {"bad": "ValueError: cannot reshape array of size 2560 into shape "
                                 "(1,28,28)"}}
    assert not (tmp_path / "bad.png").exists()
    err = capsys.readouterr().err
    assert err == (f"warning: figure 'bad' ({tmp_path / 'bad.png'}) not drawn: ValueError: "
                   "cannot reshape array of size 2560 into shape (1,28,28)\n")
    with pytest.raises(KeyboardInterrupt):         # an interruption is not a figure error
        with figures.draw("stop", "stop.png"):
            raise KeyboardInterrupt


def test_write_metrics_and_figures_writes_the_results_before_drawing(tmp_path):
    seen = []

    def draw(figures):
        seen.append(json.loads((tmp_path / "metrics.json").read_text()))
        with figures.draw("broken", "broken.png"):
            raise RuntimeError("no")

    write_metrics_and_figures(tmp_path, {"scores": {"acc": 0.5}}, draw)
    assert seen == [{"scores": {"acc": 0.5}}]
    assert json.loads((tmp_path / "metrics.json").read_text()) == {
        "scores": {"acc": 0.5}, "figures": {}, "figure_errors": {"broken": "RuntimeError: no"}}
