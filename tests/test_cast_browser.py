"""The headless Chromium of tests/cast/browser.py is real: it loads a page from a local server, fills a form, posts
it, reads the answer, and takes a screenshot; a page that asks for anything off this machine gets nothing."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cast.browser import artefact_dir, browser

FORM = b"""<!doctype html><title>form</title>
<form method="post" action="/answer"><input name="who" id="who"><button id="go">go</button></form>
<img id="remote" src="http://remote.invalid.example/pixel.png">"""


class Handler(BaseHTTPRequestHandler):
    posted: list[bytes] = []

    def do_GET(self):
        self._send(FORM)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.posted.append(body)
        self._send(b"<!doctype html><title>answer</title><p id='said'>" + body + b"</p>")

    def _send(self, body: bytes):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_browser_posts_a_form_and_reads_the_answer(site):
    from selenium.webdriver.common.by import By

    Handler.posted.clear()
    with browser() as driver:
        driver.get(site + "/")
        assert driver.title == "form"
        # the remote image was never loaded: nothing off this machine answers
        assert driver.execute_script("return document.getElementById('remote').naturalWidth") == 0
        driver.find_element(By.ID, "who").send_keys("support desk")
        driver.find_element(By.ID, "go").click()
        assert driver.find_element(By.ID, "said").text == "who=support+desk"
        shot = artefact_dir() / "cast-browser-answer.png"
        driver.save_screenshot(str(shot))
    assert Handler.posted == [b"who=support+desk"]
    assert shot.read_bytes().startswith(b"\x89PNG")
