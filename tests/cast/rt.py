"""A private Request Tracker 5 for the receiver's ticket tests: Debian's request-tracker5 (scripts/install-rt), a
throw-away instance with its own site config and SQLite file in a scratch directory, its web server on 127.0.0.1 at
a free port, stopped and removed afterwards.

`request_tracker()` is a context manager giving a `RequestTracker`:
- `rt.mailgate(raw_mail, action="correspond", queue="General")` feeds one mail through Debian's rt-mailgate, as an
  MTA alias for the ticket system's address would; actions are RT's: correspond, comment, and (the Resolve mail
  plugin is on) correspond-resolve / comment-resolve;
- `rt.tickets("Subject LIKE 'disk'")`, `rt.ticket(id)` and `rt.ticket_ids(query)` read tickets through RT's
  REST 2.0 API (as root, by basic auth): id, subject, status, queue, requestors and the transaction types
  (correspondence and comment counts);
- `rt.set_status(id, "resolved")` changes a ticket over REST 2.0, as an agent would;
- `rt.sent_mail()` is what RT would have mailed (autoreplies, error mails): RT's `mbox` mail command writes it to a
  file in the scratch directory, nothing leaves the machine.

How it is done, and the quirks found on the way (Debian 12, RT 5.0.3):
- RT reads its site config from the file named by RT_SITE_CONFIG and its RT_SiteConfig.d snippets from
  RT_SITE_CONFIG_DIR (lib/RT/Config.pm, LoadConfig). The cast sets both, the directory to an empty one, so nothing
  from /etc/request-tracker5 (debconf's snippets, syslog logging) leaks in. (RT_SITE_CONFIG_DIR replaces both the
  packaged and the local snippet directory, so a snippet put there would be read twice: the cast puts none.)
- The config is Perl run in package RT, so it also moves $RT::VarPath (where `mbox` writes) and the Mason cache
  and session directories (Debian's are under /var/cache/request-tracker5, owned by www-data) into the scratch
  directory.
- The database is made once per test process (`rt-setup-database-5 --action init`, RT's initialdata, about 2 s)
  plus the cast's own data (rights for the mailgate's senders), and each instance starts from a copy of that file.
- rt-mailgate turns away every sender unless someone granted rights: out of the box Everyone has none. The template
  grants Everyone CreateTicket, ReplyToTicket, CommentOnTicket, SeeQueue, ShowTicket and ModifyTicket (this last
  one for the Resolve plugin) system-wide: an open test desk, not a production setting.
- When RT refuses a mail (say, a comment for a ticket that does not exist) rt-mailgate still exits 0: only its
  --debug output shows the gateway's "not ok - operation unsuccessful"; the reason is in RT's log (`rt.log()`).
  Exit 75 means try later (an unknown queue or action). `Mailgate.ok` is exit 0 *and* "ok".
- The web server is Debian's /usr/share/request-tracker5/libexec/rt-server (Plack with Starlet from rt5-standalone;
  no Apache). It is stopped with SIGTERM: its SIGINT handler run as root chowns /var/lib/request-tracker5.
- REST 2.0 by basic auth checks the bcrypt hash of the password on every request: 0.25-0.5 s at RT's cost 12. The
  cast sets $BcryptCost to 4 (before the template's root password is hashed), so a call takes about 0.1 s.
- RT's default time zone is US/Eastern; the cast sets UTC. The "internal HTML converter" warning RT logs at start
  (w3m is only recommended) is harmless.
"""

from __future__ import annotations

import atexit
import base64
import functools
import json
import mailbox
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path

from cast.ports import free_port

RT_SERVER = Path("/usr/share/request-tracker5/libexec/rt-server")
SETUP_DATABASE = "/usr/sbin/rt-setup-database-5"
MAILGATE = "/usr/bin/rt-mailgate-5"
RTNAME = "rt.example"
CORRESPOND_ADDRESS = "rt@rt.example"
COMMENT_ADDRESS = "rt-comment@rt.example"
ROOT_USER = "root"

SITE_CONFIG = """\
Set($rtname, {rtname});
Set($Organization, {rtname});
Set($CorrespondAddress, {correspond});
Set($CommentAddress, {comment});
Set($RTAddressRegexp, qr/^(?:{correspond_re}|{comment_re})$/i);
Set($WebDomain, '127.0.0.1');
Set($WebPort, {port});
Set($WebPath, '');
Set($WebBaseURL, 'http://127.0.0.1:{port}');
Set($DatabaseType, 'SQLite');
Set($DatabaseName, {database});
Set($MailCommand, 'mbox');
Set(@MailPlugins, qw(Auth::MailFrom Action::Resolve));
Set($Timezone, 'UTC');
Set($BcryptCost, 4);
Set($LogToSyslog, undef);
Set($LogToFile, undef);
Set($LogToSTDERR, 'warning');
$RT::VarPath = {var};
$RT::MasonDataDir = {mason};
$RT::MasonSessionDir = {sessions};
1;
"""

# Loaded by rt-setup-database --action insert: what RT's initialdata leaves out and a test desk needs.
TEST_DATA = """\
@ACL = map { { GroupDomain => 'SystemInternal', GroupType => 'Everyone', Right => $_ } }
    qw(CreateTicket ReplyToTicket CommentOnTicket SeeQueue ShowTicket ModifyTicket);
1;
"""


def _perl_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _perl_quotemeta(text: str) -> str:
    return re.sub(r"(\W)", r"\\\1", text)


@dataclass(frozen=True)
class Instance:
    """One RT home: its site config, empty snippet directory, database file and writable directories."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "RT_SiteConfig.pm"

    @property
    def database(self) -> Path:
        return self.root / "rt.db"

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def log(self) -> Path:
        return self.root / "rt-server.log"

    def write(self, port: int) -> None:
        for name in ("RT_SiteConfig.d", "var", "mason", "sessions"):
            (self.root / name).mkdir(exist_ok=True)
        self.config.write_text(SITE_CONFIG.format(
            rtname=_perl_string(RTNAME), correspond=_perl_string(CORRESPOND_ADDRESS),
            comment=_perl_string(COMMENT_ADDRESS), correspond_re=_perl_quotemeta(CORRESPOND_ADDRESS),
            comment_re=_perl_quotemeta(COMMENT_ADDRESS), port=port,
            database=_perl_string(str(self.database)), var=_perl_string(str(self.var)),
            mason=_perl_string(str(self.root / "mason")), sessions=_perl_string(str(self.root / "sessions"))))

    def environment(self) -> dict[str, str]:
        return {**os.environ, "RT_SITE_CONFIG": str(self.config),
                "RT_SITE_CONFIG_DIR": str(self.root / "RT_SiteConfig.d")}

    def run(self, *argv: str) -> None:
        done = subprocess.run(argv, cwd=self.root, env=self.environment(), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, check=False, timeout=300)
        if done.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}")


@dataclass(frozen=True)
class Template:
    database: Path
    root_password: str


@functools.cache
def _template() -> Template:
    """RT's initialised database, made once per test process; every instance starts from a copy."""
    if not RT_SERVER.exists():
        raise RuntimeError("Request Tracker 5 is not installed (scripts/install-rt installs it)")
    home = Instance(Path(tempfile.mkdtemp(prefix="tkalert-rt-template-")))
    atexit.register(shutil.rmtree, home.root, True)
    home.write(port=80)
    password = secrets.token_hex(12)
    (home.root / "root-password").write_text(password + "\n")
    (home.root / "test-data.pl").write_text(TEST_DATA)
    home.run(SETUP_DATABASE, "--action", "init", "--root-password-file", str(home.root / "root-password"))
    home.run(SETUP_DATABASE, "--action", "insert", "--datafile", str(home.root / "test-data.pl"))
    return Template(home.database, password)


@dataclass(frozen=True)
class Mailgate:
    """What rt-mailgate said: exit code 0 with the gateway's "ok" (taken) or "not ok - ..." (refused: RT's log has
    why), 75 (try later), 1 (the mail was bad)."""

    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and any(line == "ok" for line in self.output.splitlines())


@dataclass(frozen=True)
class Ticket:
    id: int
    subject: str
    status: str
    queue: str
    requestors: tuple[str, ...]
    transactions: tuple[str, ...]  # RT's transaction types, oldest first: Create, Correspond, Comment, Status, ...

    @property
    def correspondence(self) -> int:
        """Replies after the one that opened the ticket."""
        return self.transactions.count("Correspond")

    @property
    def comments(self) -> int:
        return self.transactions.count("Comment")


class RequestTracker:
    rtname = RTNAME
    correspond_address = CORRESPOND_ADDRESS
    comment_address = COMMENT_ADDRESS

    def __init__(self, home: Instance, port: int, root_password: str):
        self.home, self.port = home, port
        self.url = f"http://127.0.0.1:{port}"
        self.user, self.password = ROOT_USER, root_password

    def subject_tag(self, ticket_id: int) -> str:
        return f"[{self.rtname} #{ticket_id}]"

    def mailgate(self, raw_mail: bytes, action: str = "correspond", queue: str = "General") -> Mailgate:
        done = subprocess.run([MAILGATE, "--url", self.url, "--queue", queue, "--action", action, "--timeout", "60",
                               "--debug"], input=raw_mail, capture_output=True, check=False, timeout=120)
        said = (done.stdout + done.stderr).decode("utf-8", "replace").splitlines()
        # --debug for the gateway's answer; its lines about temp files and URLs are noise
        return Mailgate(done.returncode, "\n".join(line for line in said if not line.startswith(MAILGATE + ":")))

    def rest(self, method: str, path: str, body: dict | None = None):
        """One REST 2.0 call as root; the decoded JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/REST/2.0/{path}", data=data, method=method)
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"REST 2.0 {method} {path}: {error.code} {error.read()[:500]!r}") from None

    def _pages(self, path: str, **query: str):
        page = 1
        while True:
            found = self.rest("GET", f"{path}?" + urllib.parse.urlencode({**query, "per_page": 100, "page": page}))
            yield from found["items"]
            if page >= int(found.get("pages") or 1):
                return
            page += 1

    def ticket(self, ticket_id: int) -> Ticket:
        fields = self.rest("GET", f"ticket/{ticket_id}")
        queue = self.rest("GET", f"queue/{fields['Queue']['id']}")["Name"]
        history = sorted(self._pages(f"ticket/{ticket_id}/history", fields="Type"), key=lambda item: int(item["id"]))
        transactions = tuple(item["Type"] for item in history)
        return Ticket(int(fields["id"]), fields["Subject"], fields["Status"], queue,
                      tuple(person["id"] for person in fields["Requestor"]), transactions)

    def ticket_ids(self, query: str = "id > 0") -> list[int]:
        """The ids of every ticket TicketSQL `query` finds, any status, oldest first (one search, no details)."""
        return [int(item["id"]) for item in self._pages("tickets", query=query, orderby="id", order="ASC")]

    def tickets(self, query: str = "id > 0") -> list[Ticket]:
        return [self.ticket(ticket_id) for ticket_id in self.ticket_ids(query)]

    def set_status(self, ticket_id: int, status: str) -> None:
        answer = self.rest("PUT", f"ticket/{ticket_id}", {"Status": status})
        if not any(f"to '{status}'" in message for message in answer):
            raise RuntimeError(f"RT did not set ticket {ticket_id} to {status}: {answer}")

    def sent_mail(self) -> list[mailbox.mboxMessage]:
        """Every mail RT sent, in order (its `mbox` mail command appends them to a file under its VarPath)."""
        return [message for path in sorted(self.home.var.glob("*.mbox")) for message in mailbox.mbox(path)]

    def log(self) -> str:
        return self.home.log.read_text(errors="replace")


def _wait_until_serving(process: subprocess.Popen, port: int, log: Path, deadline: float) -> None:
    # Starlet binds the port only after RT has loaded and checked its database: the first answer means ready.
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"rt-server did not start: {log.read_text(errors='replace')[-2000:]}")
        connection = HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("HEAD", "/")
            connection.getresponse()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()


@contextmanager
def request_tracker(workers: int = 2):
    """A started private RT 5; stopped and its scratch directory removed afterwards."""
    template = _template()
    home = Instance(Path(tempfile.mkdtemp(prefix="tkalert-rt-")))
    process = None
    try:
        port = free_port()
        home.write(port)
        shutil.copyfile(template.database, home.database)
        with open(home.log, "wb") as log:
            process = subprocess.Popen(
                [str(RT_SERVER), "--host", "127.0.0.1", "--port", str(port), f"--max-workers={workers}"],
                cwd=home.root, env=home.environment(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        _wait_until_serving(process, port, home.log, time.monotonic() + 120)
        yield RequestTracker(home, port, template.root_password)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(home.root, ignore_errors=True)


def _stop(process: subprocess.Popen) -> None:
    # SIGTERM, not SIGINT: rt-server's SIGINT handler chowns /var/lib/request-tracker5 when run as root.
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
