"""Fixtures for the dataset tests: an isolated home and a local HTTP server."""
import http.server
import threading
from functools import partial

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """No test reads or writes the real ~/.cache or honours a developer's SCRATCHNET_DATA."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SCRATCHNET_DATA", raising=False)
    return home


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; ``/cut/<name>`` announces the full length but sends half and hangs up;
    ``/slow/<name>`` sends half, then stalls (for up to 10 s) so a client can be killed
    mid-transfer."""

    def do_GET(self):
        if self.path.startswith("/slow/"):
            data = (self.server.root / self.path[len("/slow/"):]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.server.stop.wait(10)
            self.close_connection = True
            return
        if self.path.startswith("/cut/"):
            data = (self.server.root / self.path[len("/cut/"):]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path):
    """(base_url, folder): files written into ``folder`` are served at ``base_url``."""
    root = tmp_path / "served"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(_Handler, directory=str(root)))
    server.root = root
    server.stop = threading.Event()  # set at teardown: releases /slow/ handlers
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
