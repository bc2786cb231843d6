"""Open a batch of sealed payloads with one gpg run: the receiver's fast path next to `unseal.decrypt`.

Starting gpg costs more than decrypting one small alert with it, so the worker hands a batch's payloads to one
`gpg --decrypt-files` (GnuPG's multifile mode). gpg brackets each file's status lines with `FILE_START 3 <name>`
and `FILE_DONE` (doc/DETAILS), carries on after a file it cannot open, and writes each plaintext next to its input
(`7.gpg` gives `7`). Each file's status lines go through the same reader as a single run (`unseal._opening`).

This is a fast path only, never a second judge: `decrypt_files` returns an `Opening` for a file only when gpg
said, completely and without a doubt, "decrypted, one good signature, nothing else" (what every well-formed
message from a known system gives); for anything else (unsigned, an unknown or bad signature, a wrong key,
malformed packets, a file gpg never finished) it returns None, and the caller opens that payload on its own with
`unseal.decrypt`, so every doubtful message gets exactly the verdict and reason it always had.

The caps still hold for a hostile file: each plaintext is capped by the file-size limit set on gpg
(RLIMIT_FSIZE, through prlimit before gpg reads a single file name: it gets SIGXFSZ past it), the status output
by `unseal.STATUS_CAP`, and the whole run by one deadline; what gpg did not finish falls back to the single path
with its own per-message timeout. Plaintext lives only in a fresh 0700 directory under the caller's `workdir`,
each file read and removed at once, the directory removed at the end (a killed worker's leftovers are removed by
`remove_stale`).
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from tkalert.errors import SealError
from tkalert.openpgp.home import checked_home
from tkalert.openpgp.unseal import OPTIONS, Opening, _opening, _passphrase_pipe, _pump, _spawn

# The keywords that make a file's status doubtful even when gpg also says DECRYPTION_OKAY: the single path decides.
DOUBTFUL = {"NODATA", "ERROR", "FAILURE", "DECRYPTION_FAILED", "BADMDC", "NO_SECKEY", "NO_PUBKEY", "BADSIG",
            "ERRSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "NEED_PASSPHRASE", "NEED_PASSPHRASE_SYM",
            "BAD_PASSPHRASE", "MISSING_PASSPHRASE", "FILE_ERROR", "TRUNCATED", "UNEXPECTED"}


def decrypt_files(payloads: list[bytes], home: Path, workdir: Path, *, passphrase: str | None = None,
                  max_output: int = 64 << 20, timeout: float = 60) -> list[Opening | None]:
    """One gpg over all `payloads` (binary OpenPGP); per payload its certain Opening, or None: open it alone."""
    if not payloads:
        return []
    checked_home(home)
    folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=workdir))  # 0700
    try:
        for number, payload in enumerate(payloads):
            descriptor = os.open(folder / f"{number}.gpg", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(descriptor, "wb") as sealed:
                sealed.write(payload)
        lines = _run(folder, len(payloads), home, passphrase, max_output, timeout)
        return [_certain(folder, number, lines.get(f"{number}.gpg"), home, max_output)
                for number in range(len(payloads))]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale(workdir: Path) -> None:
    """Remove what a killed process left in `workdir` (its folders are named after its pid)."""
    for entry in os.scandir(workdir):
        pid = entry.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run(folder: Path, count: int, home: Path, passphrase: str | None, max_output: int,
         timeout: float) -> dict[str, list[str]]:
    """gpg's status lines per file name, only for the files gpg finished (FILE_DONE); {} when it timed out."""
    status_read, status_write = os.pipe()
    secret_fd, fds = _passphrase_pipe(passphrase)
    command = ["gpg", "--homedir", str(home), *OPTIONS, "--status-fd", str(status_write),
               *(["--passphrase-fd", str(secret_fd)] if secret_fd is not None else []),
               "--no-use-embedded-filename", "--decrypt-files"]  # never a name from the sender (nor gpg.conf)
    child = _spawn(command, status_read, status_write, fds, cwd=folder)
    names = "".join(f"{number}.gpg\n" for number in range(count)).encode("ascii")
    with open(status_read, "rb", buffering=0) as status:
        try:  # gpg waits for the names on stdin, so the cap is set before it writes a byte of plaintext
            resource.prlimit(child.pid, resource.RLIMIT_FSIZE, (max_output + 1, max_output + 1))
        except OSError:
            names = b""  # no cap, no files: everything goes the single way
        pumped = _pump(child, names, status, 1, time.monotonic() + timeout)
    if pumped.timed_out or pumped.over_limit:
        return {}
    return _per_file(pumped.status.decode("utf-8", "replace").splitlines())


def _per_file(lines: list[str]) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    name, current = None, []
    for line in lines:
        words = line.split()
        if words[:2] == ["[GNUPG:]", "FILE_START"]:
            name, current = (words[3] if len(words) == 4 else None), []
        elif words[:2] == ["[GNUPG:]", "FILE_DONE"]:
            if name is not None and name not in files:
                files[name] = current
            name, current = None, []
        else:
            current.append(line)
    return files


def _certain(folder: Path, number: int, lines: list[str] | None, home: Path, max_output: int) -> Opening | None:
    if lines is None:
        return None
    keywords = {line.split()[1] for line in lines if line.startswith("[GNUPG:] ") and len(line.split()) > 1}
    if keywords & DOUBTFUL or "DECRYPTION_OKAY" not in keywords:
        return None
    plaintext = _take(folder / str(number), max_output)
    if plaintext is None:
        return None
    try:
        opening = _opening(plaintext, lines, False, False, "", home)
    except SealError:
        return None
    good = (opening.decrypted and not opening.errors and not opening.missing_keys and not opening.symmetric
            and len(opening.signatures) == 1 and opening.signatures[0].state == "good")
    return opening if good else None


def _take(path: Path, max_output: int) -> bytes | None:
    """The plaintext, removed as it is read; None when it is missing or over the cap."""
    try:
        with open(path, "rb") as plain:
            os.unlink(path)
            data = plain.read(max_output + 1)
    except OSError:
        return None
    return data if len(data) <= max_output else None
