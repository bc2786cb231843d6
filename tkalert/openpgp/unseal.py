"""Open a sealed message as the vendor does: the receiving end of the pipeline, after deliver.

`decrypt` runs one gpg over one payload with the secret key(s) in the vendor's GnuPG home and returns what gpg's
status lines say as data (`Opening`): was it decrypted, which keys it was for that we lack, and each signature's
state and signer fingerprint. It decides nothing: the receiver's open step (tkalert.receiver.open) turns that into
a verdict against the key pinned for the system. `unseal` is the short form the demo and the sender's tests use.

gpg runs as a plain child process rather than through python-gnupg, for three reasons of hostile input:
python-gnupg buffers the whole plaintext in memory and cannot stop gpg half-way, so a 10 KiB compression bomb would
inflate to gigabytes; here the plaintext is read with a cap and gpg is killed past it, and also past a deadline.
The payload goes in, and plaintext, status lines (`--status-fd`) and stderr come out, through pipes served by one
selector loop, so none fills up and blocks gpg. The vendor
passphrase travels through a pipe (`--passphrase-fd`), never on the command line. `--trust-model always`: gpg's web
of trust plays no part; the caller checks the signer's fingerprint against the pin itself.
"""

from __future__ import annotations

import os
import select
import selectors
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tkalert.errors import SealError, one_line
from tkalert.openpgp.home import checked_home

OPTIONS = ["--batch", "--no-tty", "--trust-model", "always", "--no-auto-key-retrieve", "--auto-key-locate",
           "local", "--no-permission-warning", "--pinentry-mode", "loopback"]
# The signature states gpg announces after NEWSIG (doc/DETAILS in GnuPG), and ours for them.
SIGNATURE_STATES = {"GOODSIG": "good", "EXPKEYSIG": "expired-key", "REVKEYSIG": "revoked-key",
                    "EXPSIG": "expired-signature", "BADSIG": "bad", "ERRSIG": "error"}
STATUS_CAP = 1 << 20  # status lines or stderr past this come from a hostile message (thousands of signatures)
BAD_PASSPHRASE = 11  # libgpg-error's GPG_ERR_BAD_PASSPHRASE, the low 16 bits of an ERROR status code


@dataclass(frozen=True)
class Signature:
    state: str  # good | expired-key | revoked-key | expired-signature | bad | error | no-pubkey
    signer: str  # primary key fingerprint (VALIDSIG), else the issuer fingerprint or long key id gpg named


@dataclass(frozen=True)
class Opening:
    """What one gpg run over a payload found; `plaintext` is only meaningful when `decrypted`."""

    plaintext: bytes
    decrypted: bool
    missing_keys: tuple[str, ...]  # long key ids the message was encrypted to whose secret key we lack
    signatures: tuple[Signature, ...]
    over_limit: bool = False  # the plaintext passed max_output and gpg was stopped
    timed_out: bool = False
    symmetric: bool = False  # gpg asked for a symmetric passphrase: not encrypted to any key
    errors: tuple[str, ...] = ()  # gpg's ERROR status lines: packets out of order, several plaintexts, ...
    said: str = ""  # gpg's last line on stderr, for a human


@dataclass(frozen=True)
class Unsealed:
    plaintext: bytes
    signer: str | None  # fingerprint of the valid signature's key, None when no valid signature


def unseal(payload: bytes, home: Path) -> Unsealed:
    """Decrypt `payload` with the keys in `home`; raise SealError in one line when it does not decrypt."""
    opening = decrypt(payload, home)
    if not opening.decrypted:
        raise SealError(f"cannot decrypt the message with the keys in {home}: {opening.said or 'gpg failed'}")
    good = [s.signer for s in opening.signatures if s.state == "good"]
    return Unsealed(opening.plaintext, good[0] if len(good) == 1 else None)


def decrypt(payload: bytes, home: Path, *, passphrase: str | None = None, keyring: Path | None = None,
            max_output: int = 64 << 20, timeout: float = 60) -> Opening:
    """Run gpg --decrypt over `payload` (armored or binary) in `home`; `keyring` adds a public keyring to verify
    with (an attached key, read-only). Raises SealError only for the vendor's own trouble: gpg missing, an unsafe
    home, a secret key whose passphrase is wrong or missing."""
    checked_home(home)
    status_read, status_write = os.pipe()
    secret_fd, fds = _passphrase_pipe(passphrase)
    command = ["gpg", "--homedir", str(home), *OPTIONS, "--status-fd", str(status_write),
               *(["--keyring", str(keyring)] if keyring else []),
               *(["--passphrase-fd", str(secret_fd)] if secret_fd is not None else []), "--decrypt"]
    child = _spawn(command, status_read, status_write, fds)
    with open(status_read, "rb", buffering=0) as status:
        pumped = _pump(child, payload, status, max_output, time.monotonic() + timeout)
    lines = pumped.status.decode("utf-8", "replace").splitlines()
    return _opening(pumped.plaintext, lines, pumped.over_limit, pumped.timed_out, _last_line(pumped.stderr), home)


def _spawn(command: list[str], status_read: int, status_write: int, fds: tuple, cwd=None) -> subprocess.Popen:
    """gpg started with the status pipe's write end (and the passphrase pipe's) passed, then closed here."""
    try:
        return subprocess.Popen(command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, pass_fds=(status_write, *fds))
    except OSError as exc:
        os.close(status_read)
        raise SealError(f"cannot run gpg: {exc.strerror} (install gnupg: apt-get install gnupg)") from None
    finally:
        for fd in (status_write, *fds):
            os.close(fd)


def _passphrase_pipe(passphrase: str | None) -> tuple[int | None, tuple[int, ...]]:
    if passphrase is None:
        return None, ()
    read_end, write_end = os.pipe()
    os.write(write_end, passphrase.encode("utf-8") + b"\n")  # far below a pipe's buffer: never blocks
    os.close(write_end)
    return read_end, (read_end,)


@dataclass
class _Pumped:
    plaintext: bytes = b""
    status: bytes = b""
    stderr: bytes = b""
    over_limit: bool = False
    timed_out: bool = False


def _pump(child: subprocess.Popen, payload: bytes, status, limit: int, deadline: float) -> _Pumped:
    """Feed gpg the payload and read its plaintext, status and stderr at once, in one loop (no pipe ever fills
    up and blocks gpg); stop gpg when an output passes its cap or the deadline passes."""
    caps = {child.stdout: limit, status: STATUS_CAP, child.stderr: STATUS_CAP}
    read: dict = {stream: [] for stream in caps}
    sizes = dict.fromkeys(caps, 0)
    view, offset = memoryview(payload), 0
    os.set_blocking(child.stdin.fileno(), False)
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdin, selectors.EVENT_WRITE)
        for stream in caps:
            selector.register(stream, selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                return _stop(child, _Pumped(timed_out=True))
            for key, _ in selector.select(left):
                stream = key.fileobj
                if stream is child.stdin:
                    offset = _feed(stream, view, offset)
                    if offset >= len(view):
                        selector.unregister(stream)
                        stream.close()
                    continue
                chunk = os.read(stream.fileno(), 1 << 16)
                if not chunk:
                    selector.unregister(stream)
                    continue
                sizes[stream] += len(chunk)
                if sizes[stream] > caps[stream]:
                    return _stop(child, _Pumped(over_limit=True))
                read[stream].append(chunk)
    try:
        _wait(child, max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        return _stop(child, _Pumped(timed_out=True))
    _close(child)
    return _Pumped(*(b"".join(read[stream]) for stream in (child.stdout, status, child.stderr)))


def _wait(child: subprocess.Popen, seconds: float) -> None:
    """child.wait(timeout) polls with sleeps (0.5 ms doubling up to 50 ms), late by up to a sleep for every
    message; a pidfd (Linux 5.3) is readable the moment gpg exits."""
    try:
        pidfd = os.pidfd_open(child.pid)
    except (AttributeError, OSError):
        child.wait(timeout=seconds)
        return
    try:
        if not select.select([pidfd], [], [], seconds)[0]:
            raise subprocess.TimeoutExpired(child.args, seconds)
    finally:
        os.close(pidfd)
    child.wait()


def _feed(stdin, view: memoryview, offset: int) -> int:
    try:
        return offset + os.write(stdin.fileno(), view[offset:offset + (1 << 16)])
    except BrokenPipeError:  # gpg stopped reading (garbage, or it has seen enough): nothing more to give
        return len(view)


def _stop(child: subprocess.Popen, outcome: _Pumped) -> _Pumped:
    child.kill()
    child.wait()
    _close(child)
    return outcome


def _close(child: subprocess.Popen) -> None:
    for stream in (child.stdin, child.stdout, child.stderr):
        if not stream.closed:
            stream.close()


def _opening(plaintext: bytes, lines: list[str], over_limit: bool, timed_out: bool, said: str,
             home: Path) -> Opening:
    words = [line.split()[1:] for line in lines if line.startswith("[GNUPG:] ") and len(line.split()) > 1]
    keywords = {w[0] for w in words}
    decrypted = "DECRYPTION_OKAY" in keywords and "DECRYPTION_FAILED" not in keywords and not over_limit
    wrong = "BAD_PASSPHRASE" in keywords or any(
        w[:2] == ["ERROR", "pkdecrypt_failed"] and w[2:3] and w[2].isdigit() and int(w[2]) & 0xFFFF == BAD_PASSPHRASE
        for w in words)
    if wrong or ("NEED_PASSPHRASE" in keywords and not decrypted and not timed_out):
        raise SealError(f"the vendor's secret key in {home} needs its passphrase, and the one given is "
                        f"{'wrong' if wrong else 'missing'}: give the right one")
    return Opening(plaintext if decrypted else b"", decrypted and not timed_out,
                   tuple(w[1] for w in words if w[0] == "NO_SECKEY" and len(w) > 1), _signatures(words),
                   over_limit, timed_out, "NEED_PASSPHRASE_SYM" in keywords,
                   tuple(" ".join(w[1:]) for w in words if w[0] == "ERROR"), said)


def _signatures(words: list[list[str]]) -> tuple[Signature, ...]:
    """One Signature per NEWSIG block: its state word, and the signer as precisely as gpg named it."""
    found: list[list[str]] = []  # [state, signer] per signature
    for word in words:
        if word[0] == "NEWSIG":
            found.append(["error", ""])
        elif found and word[0] in SIGNATURE_STATES:
            found[-1][0] = SIGNATURE_STATES[word[0]]
            # ERRSIG <keyid> <algo> <hash> <class> <time> <rc> [<fpr>]: rc 9 is "no public key"
            found[-1][1] = word[7] if word[0] == "ERRSIG" and len(word) > 7 else (word[1] if len(word) > 1 else "")
            if word[0] == "ERRSIG" and len(word) > 6 and word[6] == "9":
                found[-1][0] = "no-pubkey"
        elif found and word[0] == "VALIDSIG" and len(word) > 1:
            found[-1][1] = word[10] if len(word) > 10 else word[1]  # the primary key's fingerprint
    return tuple(Signature(state, signer.upper()) for state, signer in found)


def _last_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return one_line(lines[-1], 300) if lines else ""
