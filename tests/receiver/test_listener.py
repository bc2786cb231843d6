"""The built-in listener over real sockets: 250 only once stored, 552 over the size limit, 451 when the store
cannot take the mail (and 250 again once it can), LMTP for Postfix; and the sender's side never imports it."""

from __future__ import annotations

import ast
import shutil
import smtplib
from pathlib import Path

import pytest
from cast.receiver import wait_for_port
from cast.ports import free_port

MAIL = b"From: a@customer.test\r\nTo: callhome@vendor.test\r\nX-Tkalert-Message-Id: m-1\r\n\r\nbody\r\n"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small(make_site):
    lmtp = free_port()
    made = make_site(extra=f"size_limit = 4096\nlmtp_listen = 127.0.0.1:{lmtp}\n")
    made.lmtp_port = lmtp
    yield made
    made.stop()


def stored(site) -> list[bytes]:
    return [path.read_bytes() for path in sorted((site.store_dir / "new").iterdir())]


def test_250_means_stored_552_over_the_limit(small):
    small.serve()
    with smtplib.SMTP("127.0.0.1", small.smtp_port, timeout=10) as client:
        assert client.sendmail("a@customer.test", ["callhome@vendor.test"], MAIL) == {}
        with pytest.raises(smtplib.SMTPException) as refused:
            client.sendmail("a@customer.test", ["callhome@vendor.test"], MAIL + b"x" * 5000 + b"\r\n")
    assert getattr(refused.value, "smtp_code", None) == 552
    assert stored(small) == [MAIL]


def test_451_while_the_store_cannot_take_it_then_250(small):
    small.serve()
    tmp = small.store_dir / "tmp"
    shutil.rmtree(tmp)
    tmp.write_text("not a folder")
    with smtplib.SMTP("127.0.0.1", small.smtp_port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("a@customer.test", ["callhome@vendor.test"], MAIL)
        assert refused.value.smtp_code == 451
        tmp.unlink()
        tmp.mkdir()
        assert client.sendmail("a@customer.test", ["callhome@vendor.test"], MAIL) == {}
    assert stored(small) == [MAIL]


def test_lmtp_stores_and_answers(small):
    process = small.serve()
    wait_for_port(small.lmtp_port, process, small.root / "serve.log")
    with smtplib.LMTP("127.0.0.1", small.lmtp_port) as client:
        assert client.sendmail("a@customer.test", ["callhome@vendor.test"], MAIL) == {}
    (name,) = [p.name for p in (small.store_dir / "new").iterdir()]
    assert name.endswith(".lmtp")


def test_nothing_outside_the_receiver_imports_it():
    """The sender's hook must never pay for Django: no module of tkalert outside tkalert/receiver imports it."""
    offenders = []
    for path in (ROOT / "tkalert").rglob("*.py"):
        if (ROOT / "tkalert" / "receiver") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith("tkalert.receiver")]
    assert offenders == []


def test_https_answers_202_once_stored_413_over_the_limit_400_and_405(make_site, certificate):
    import http.client
    import ssl

    site = make_site(name="https", certificate=certificate, extra="size_limit = 4096\n")
    try:
        site.serve()
        context = ssl.create_default_context(cafile=str(certificate.ca_file))

        def post(body: bytes, content_type: str = "application/pgp-encrypted", method: str = "POST",
                 message_id: str = "m-1") -> int:
            connection = http.client.HTTPSConnection("127.0.0.1", site.https_port, context=context, timeout=10)
            try:
                connection.request(method, "/ingest", body=body, headers={"Content-Type": content_type,
                                                                          "X-Tkalert-Message-Id": message_id})
                return connection.getresponse().status
            finally:
                connection.close()

        assert post(b"-----BEGIN PGP MESSAGE-----\n") == 202
        assert post(b"x" * 5000) == 413
        assert post(b"<x/>", content_type="text/html") == 400
        assert post(b"body", message_id="bad id <x>") == 400
        assert post(b"", method="GET") == 405
        (kept,) = stored(site)
        assert kept == (b"Content-Type: application/pgp-encrypted\r\nX-Tkalert-Message-Id: m-1\r\n\r\n"
                          b"-----BEGIN PGP MESSAGE-----\n")
    finally:
        site.stop()


def test_writers_storing_at_once_share_fsyncs_each_returning_after_one_begun_after_its_rename(tmp_path, monkeypatch):
    """The listener's group fsync of new/ (store.GroupSync): fewer fsyncs than mails, and none of them answered
    before an fsync of the folder that began after its own rename had ended."""
    import os
    import threading
    import time

    from tkalert.receiver.ingest import store

    store.prepare(tmp_path)
    log, lock = [], threading.Lock()
    real_rename = os.rename

    def rename(source, target):
        real_rename(source, target)
        with lock:
            log.append(("renamed", Path(target).name))

    def fsync_dir(path):
        assert path == tmp_path / "new"
        with lock:
            log.append(("begun", ""))
        time.sleep(0.01)
        with lock:
            log.append(("ended", ""))

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(store, "fsync_dir", fsync_dir)
    group = store.GroupSync(tmp_path / "new")
    start = threading.Barrier(24)

    def write(n):
        start.wait()
        stored = store.store_raw(tmp_path, b"mail %d" % n, "smtp", group=group)
        with lock:
            log.append(("answered", stored.path.name))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = [name for event, name in log if event == "answered"]
    assert len(names) == 24 and sorted(names) == sorted(os.listdir(tmp_path / "new"))
    for name in names:
        renamed, answered = log.index(("renamed", name)), log.index(("answered", name))
        between = [event for event, _ in log[renamed:answered]]
        assert "begun" in between and "ended" in between[between.index("begun"):], name
    assert sum(event == "begun" for event, _ in log) < 24


def test_plain_addresses_read_as_aiosmtpd_reads_them_the_rest_left_to_its_parser():
    """The listener's fast path for `<local@domain>` gives what aiosmtpd's RFC 5322 parser gives, on the usual
    addresses and on 40,000 random ones made of the characters that matter (brackets, dots, quotes, comments,
    blanks); what it does not take is the parser's."""
    import random

    from aiosmtpd.smtp import SMTP

    from tkalert.receiver.ingest.smtp import PLAIN_ADDRESS, Smtp, StoringHandler

    fast, parser = Smtp(StoringHandler(Path("unused"))), SMTP(StoringHandler(Path("unused")))
    fast.local_part_limit = parser.local_part_limit = 64
    shuffle = random.Random(5321)
    alphabet = "ab.@<> \t()\"'[]\\=+-é"
    usual = ["<tkalert@bench.example>", "<a+b=c@d-e.f> SIZE=100 BODY=8BITMIME", "<x@y>\t SMTPUTF8", "<x@y> (c) d",
             "<x@y>(c)", "<\"q r\"@y>", "<x@[127.0.0.1]>", "<é@y>", "<>", "", " <x@y>", f"<{'l' * 65}@y>", "x@y"]
    def text(letters, longest):
        return "".join(shuffle.choice(letters) for _ in range(shuffle.randint(0, longest)))

    made = [f"<{text(alphabet, 8)}>{text(alphabet, 6)}" for _ in range(20_000)]
    made += [f"<{text('ab.-+', 4)}@{text('ab.-', 4)}>{text(alphabet, 6)}" for _ in range(20_000)]
    def outcome(server, arg):  # the parser itself fails on some (aiosmtpd answers those 500): the same failure
        try:
            return server._getaddr(arg)
        except Exception as exc:  # noqa: BLE001
            return type(exc)

    taken = 0
    for arg in usual + made:
        assert outcome(fast, arg) == outcome(parser, arg), arg
        taken += bool(PLAIN_ADDRESS.match(arg))
    assert taken > 5_000  # the fast path was tried, not only the parser
