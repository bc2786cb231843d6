"""The integration suite's cast: tkalert installed where a monitoring daemon's user can run it, and a site per user.

The real Icinga 2, Nagios 4 and Zabbix 6 daemons run tkalert as their own users (nagios, zabbix), never as root. So
the suite installs the current tree into a virtualenv of Debian's own python3 in a world-readable place (the
interpreter that runs pytest may live where those users cannot reach), and gives each user a *site*: a tkalert
config, a GnuPG home holding the system key and the vendor's public key, and spool and state directories, all owned
by that user, sending to a real SMTP server (cast.smtp) on a localhost port. What arrives there is opened as the vendor
would: decrypted with the vendor key, the signature checked against the system key, the document validated
against the XSD.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from cast.config import write_config
from cast.plugins import ROOT
from cast.smtp import SmtpServer, smtp_server
from tkalert.document.reader import parse_valid
from tkalert.sender.deliver.mail import payload_of

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's interpreter: readable by every user, unlike a per-user pyenv
SCRATCH = "/var/tmp"  # pytest's tmp_path is private to root; the daemons' users must reach these files


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.integration)


def run_as(user: str, *argv: str, env: dict | None = None, timeout: float = 60, **kwargs):
    """Run argv as a daemon's user with exactly the environment given, as the daemon would (setpriv changes the
    ids and nothing else: no PAM session, no HOME added)."""
    as_user = ["/usr/bin/setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]
    return subprocess.run([*as_user, *argv], capture_output=True, env=env, timeout=timeout, check=False, **kwargs)


def wait_until(condition, timeout: float, what: str, interval: float = 0.2):
    """Poll a real daemon until condition() is truthy; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def scratch_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=SCRATCH))
    path.chmod(0o755)
    return path


class Installed:
    """tkalert installed from this tree into a venv that any user can run."""

    def __init__(self, venv: Path):
        self.venv = venv
        self.bin = venv / "bin"

    @classmethod
    def create(cls) -> "Installed":
        venv = scratch_dir("tkalert-it-venv-")
        steps = ([SYSTEM_PYTHON, "-m", "venv", str(venv)],
                 [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(ROOT)])
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=600)
            assert done.returncode == 0, f"{' '.join(step)} failed:\n{done.stdout}{done.stderr}"
        for path in [venv, *venv.rglob("*")]:  # the venv inherits root's umask; the daemons' users must read it
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | (0o555 if path.is_dir() else 0o444))
        return cls(venv)


@pytest.fixture(scope="session")
def installed():
    found = Installed.create()
    yield found
    shutil.rmtree(found.venv, ignore_errors=True)


class Site:
    """One daemon user's tkalert: config, GnuPG home, spool and state, and the SMTP server it sends to."""

    def __init__(self, user: str, keys, sink: SmtpServer, extra: str = ""):
        self.user, self.keys, self.sink = user, keys, sink
        account = pwd.getpwnam(user)
        self.uid, self.gid = account.pw_uid, account.pw_gid
        self.root = scratch_dir(f"tkalert-{user}-")
        self.home = self.root / "gnupg"
        shutil.copytree(keys.sender_home, self.home, ignore=shutil.ignore_patterns("S.*", "*.lock", "random_seed"))
        self.state = self.root / "state"
        self.state.mkdir(mode=0o700)
        self.spool = self.state / "spool"
        for path in [self.home, *self.home.rglob("*"), self.state]:
            os.chown(path, self.uid, self.gid)
        self.home.chmod(0o700)
        self.config = write_config(self.root / "tkalert.conf", keys, sink.port, self.state, home=self.home,
                                   extra=extra)
        os.chown(self.config, 0, self.gid)  # root's file, readable by the daemon's group only: it holds the key
        self.config.chmod(0o640)

    def documents(self) -> list:
        """Every mail received so far, opened as the vendor would; a mail that does not open fails the test."""
        roots = []
        for mail in self.sink.emails():
            plaintext, signer = self.keys.decrypt(payload_of(mail))
            assert signer == self.keys.system, "the document is not signed by this system's key"
            roots.append(parse_valid(plaintext))
        return roots

    def wait_for(self, predicate, timeout: float = 90, what: str = "a matching document"):
        """The first received document for which predicate(root) holds."""
        found = []

        def match():  # a list, because an lxml element without children is falsy
            found[:] = self.documents()
            return [root for root in found if predicate(root)][:1]

        try:
            return wait_until(match, timeout, what)[0]
        except pytest.fail.Exception:
            seen = [(r.tag, r.findtext("host/name"), r.findtext("service/name"), r.findtext("service/status"))
                    for r in found]
            spooled = sorted(p.name for p in self.spool.rglob("*") if p.is_file()) if self.spool.exists() else []
            pytest.fail(f"timed out waiting for {what}; received {seen}; spool holds {spooled}")

    def owned_by_user(self, path: Path) -> bool:
        return path.stat().st_uid == self.uid

    def close(self):
        run_as(self.user, "gpgconf", "--homedir", str(self.home), "--kill", "all")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def site_for(keys):
    """A factory: site_for("nagios") -> a Site for that user, with its own SMTP server; all closed afterwards."""
    made: list[Site] = []

    def make(user: str, extra: str = "") -> Site:
        grp.getgrgid(pwd.getpwnam(user).pw_gid)  # a missing user fails here, naming it
        site = Site(user, keys, smtp_server(), extra)
        made.append(site)
        return site

    yield make
    for site in made:
        site.sink.stop()
        site.close()
