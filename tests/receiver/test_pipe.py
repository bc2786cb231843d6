"""The MTA pipe: `tkalert-receiver ingest` stores one mail and exits 0, or exits 75 so the MTA keeps it; it never
imports Django or click (it runs once per mail), and a bad config is 78, which MTAs also defer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MAIL = b"From: a@customer.test\r\nX-Tkalert-Message-Id: m-1\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n...\r\n"


def ingest(config: Path, data: bytes, user: str | None = None, *extra: str):
    prefix = []
    if user:
        import pwd

        prefix = ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--clear-groups"]
    return subprocess.run([*prefix, sys.executable, *extra, "-m", "tkalert.receiver", "--config", str(config),
                           "ingest"], input=data, capture_output=True, check=False, timeout=60)


@pytest.fixture
def store_site(tmp_path):
    """A config whose store lives in a folder any user can reach (the MTA runs the pipe as its own user)."""
    root = Path(os.environ.get("TMPDIR", "/tmp")) / f"tkalert-pipe-{os.getpid()}-{tmp_path.name}"
    root.mkdir(mode=0o755)
    config = root / "receiver.conf"
    config.write_text(f"[receiver]\nstate_dir = {root / 'state'}\n", encoding="utf-8")
    config.chmod(0o644)
    from tkalert.receiver.ingest.store import prepare

    prepare(root / "state" / "store")
    (root / "state").chmod(0o755)
    yield root
    shutil.rmtree(root)


def files(store: Path) -> list[Path]:
    return sorted((store / "new").iterdir()) + sorted((store / "tmp").iterdir())


def test_stored_durably_with_exit_0_and_the_exact_bytes(store_site):
    done = ingest(store_site / "receiver.conf", MAIL)
    assert done.returncode == 0, done.stderr
    (stored,) = files(store_site / "state" / "store")
    assert stored.parent.name == "new" and stored.read_bytes() == MAIL
    assert stored.name.endswith(".pipe") and stored.stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to run as another user")
def test_a_store_the_mta_user_cannot_write_is_exit_75_and_then_stored_once_fixed(store_site):
    """The MTA (user nobody here) gets 75 and keeps the mail; once the store is fixed its retry stores it."""
    store = store_site / "state" / "store"
    refused = ingest(store_site / "receiver.conf", MAIL, "nobody")
    assert refused.returncode == 75, refused.stderr
    assert b"cannot store the message, the MTA keeps it" in refused.stderr
    assert files(store) == []
    for sub in ("tmp", "new"):
        shutil.chown(store / sub, "nobody")
    shutil.chown(store, "nobody")
    retried = ingest(store_site / "receiver.conf", MAIL, "nobody")
    assert retried.returncode == 0, retried.stderr
    assert [path.read_bytes() for path in files(store)] == [MAIL]


def test_a_missing_store_is_75_and_a_broken_config_is_78(store_site, tmp_path):
    shutil.rmtree(store_site / "state" / "store")
    assert ingest(store_site / "receiver.conf", MAIL).returncode == 75
    bad = tmp_path / "bad.conf"
    bad.write_text("[receiver]\nsize_limt = 5\n", encoding="utf-8")
    done = ingest(bad, MAIL)
    assert done.returncode == 78
    assert b"did you mean 'size_limit'?" in done.stderr and b"Traceback" not in done.stderr


def test_the_pipe_imports_neither_django_nor_click(store_site):
    done = ingest(store_site / "receiver.conf", MAIL, None, "-X", "importtime")
    assert done.returncode == 0
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.decode().splitlines()
                if line.startswith("import time:")}
    assert "tkalert" in imported
    assert not imported & {"django", "click", "lxml", "gnupg", "aiosmtpd", "psycopg"}
