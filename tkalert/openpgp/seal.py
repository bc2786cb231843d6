"""Sign and encrypt one document with one `gpg` process; check the outcome explicitly.

Recipients are given by full fingerprint only, so a decoy key carrying the vendor's user id is never used. GnuPG
>= 2.1 prints warnings on stderr on perfectly good runs (TKalert 1.5 failed every send on them): success is what
gpg's status lines say (exit 0, `SIG_CREATED` when signing, `END_ENCRYPTION`), never an empty stderr.

The success path runs gpg itself (`--status-fd 2`): python-gnupg costs the notification hook its import and a
second gpg process (its version probe) per event. Only when gpg refused do we open the keyring with python-gnupg
to ask why, so the message names the fix. gpg is started with os.posix_spawnp and fed through poll(): importing
subprocess (with signal, locale, selectors, threading) costs the hook as much as the rest of this module's work.
"""

from __future__ import annotations

import os

from tkalert.errors import SealError
from tkalert.openpgp.home import checked_home

# --no-auto-key-retrieve/-locate: never go to the network for a key; the keyring is the whole truth.
GPG_OPTIONS = ["--no-auto-key-retrieve", "--auto-key-locate", "local", "--no-permission-warning"]
STATUS = "[GNUPG:] "


def open_keyring(home):
    checked_home(home)
    gnupg = quiet_gnupg()
    try:
        return gnupg.GPG(gnupghome=str(home), options=list(GPG_OPTIONS))
    except (OSError, ValueError, RuntimeError) as exc:
        raise SealError(f"cannot run gpg with home {home}: {exc} (install gnupg: apt-get install gnupg)") from None


def quiet_gnupg():
    """python-gnupg, its logger silenced unless tkalert logs debug lines (--verbose): its `[WARNING] gpg returned a
    non-zero error code: 2` (and a traceback when gpg is missing) would come before tkalert's own line, and
    Icinga 2 merges stderr into the plugin output. Our SealError says what went wrong, in one line. gpg missing
    from PATH is said before python-gnupg tries to run it."""
    import logging
    import os
    import shutil

    if not logging.getLogger("tkalert").isEnabledFor(logging.DEBUG):
        logging.getLogger("gnupg").setLevel(logging.CRITICAL + 1)
    if shutil.which("gpg") is None:
        raise SealError(f"gpg not found: install gnupg (apt-get install gnupg) or put gpg on the PATH "
                        f"(PATH={os.environ.get('PATH', '')})")
    import gnupg

    return gnupg


def seal_command(home, vendor_keys: tuple[str, ...], system_key: str | None) -> list[str]:
    """The one gpg command line: armored, encrypted to every vendor key, signed by exactly the system key."""
    recipients = [arg for fingerprint in vendor_keys for arg in ("--recipient", fingerprint)]
    # --local-user FPR! signs with exactly that key; --default-key would let gpg silently pick another secret key.
    signer = ["--sign", "--local-user", f"{system_key}!"] if system_key else []
    return ["gpg", "--homedir", str(home), "--batch", "--no-tty", "--status-fd", "2", *GPG_OPTIONS,
            "--trust-model", "always", "--armor", "--encrypt", *recipients, *signer]


def seal_document(document: bytes, home, vendor_keys: tuple[str, ...], system_key: str | None) -> bytes:
    """Return the ASCII-armored message: encrypted to every vendor key, signed by the system key if given."""
    if not vendor_keys:
        raise SealError(
            "no vendor key configured: set vendor_keys (the vendor key's 40-digit fingerprint) in [gnupg] "
            "of the config, or use --disable-gpg-encryption for a test"
        )
    checked_home(home)
    try:
        returncode, stdout, stderr_bytes = run(seal_command(home, vendor_keys, system_key), document)
    except FileNotFoundError:
        quiet_gnupg()  # says "gpg not found" with the PATH
        raise
    except OSError as exc:
        raise SealError(f"cannot run gpg with home {home}: {exc.strerror or exc}") from None
    stderr = stderr_bytes.decode("utf-8", "replace")
    if sealed(returncode, stderr, bool(system_key)) and stdout:
        return stdout
    from tkalert.log import log

    # --verbose shows gpg's own words; without it the one SealError line below is all the caller sees
    outcome = (f"gpg returned a non-zero error code: {returncode}" if returncode
               else "gpg exited 0 without SIG_CREATED and END_ENCRYPTION")
    log.debug("%s; it said: %s", outcome, " / ".join(stderr.strip().splitlines()))
    raise SealError(_explain(home, vendor_keys, system_key, stderr))


def run(argv: list[str], data: bytes) -> tuple[int, bytes, bytes]:
    """Run argv (found on PATH) with `data` on its stdin; return (exit code, stdout, stderr)."""
    import select

    (in_r, in_w), (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe(), os.pipe()  # not inherited (PEP 446)
    actions = [(os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
    try:
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions, setsigdef=_DEFAULT_SIGNALS)
    except BaseException:
        for fd in (in_w, out_r, err_r):
            os.close(fd)
        raise
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    output: dict[int, list[bytes]] = {out_r: [], err_r: []}
    poller, pending = select.poll(), memoryview(data)
    for fd in output:
        poller.register(fd, select.POLLIN)
    os.set_blocking(in_w, False)
    poller.register(in_w, select.POLLOUT)
    open_fds = {in_w, out_r, err_r}
    while open_fds:
        for fd, _ in poller.poll():
            if fd == in_w:
                try:
                    pending = pending[os.write(in_w, pending[:65536]):] if pending else pending
                except BrokenPipeError:  # gpg stopped reading: its exit code and stderr say why
                    pending = pending[:0]
                done = not pending
            else:
                chunk = os.read(fd, 65536)
                output[fd].append(chunk)
                done = not chunk
            if done:
                poller.unregister(fd)
                os.close(fd)
                open_fds.discard(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(output[out_r]), b"".join(output[err_r])


def _default_signals() -> tuple[int, ...]:
    """SIGPIPE back to its default in gpg (Python ignores it; subprocess resets it the same way)."""
    try:
        from _signal import SIGPIPE  # the C module: `signal` builds its enums first
    except ImportError:
        return ()
    return (SIGPIPE,)


_DEFAULT_SIGNALS = _default_signals()


def sealed(returncode: int, stderr: str, signed: bool) -> bool:
    """gpg's own word that it signed and encrypted: exit 0 and the status lines, never the absence of stderr."""
    said = {line[len(STATUS):].split(" ", 1)[0] for line in stderr.splitlines() if line.startswith(STATUS)}
    return returncode == 0 and "END_ENCRYPTION" in said and ("SIG_CREATED" in said or not signed)


def _explain(home, vendor_keys, system_key, stderr: str) -> str:
    from tkalert.openpgp.keys import system_key_problem, vendor_key_problem

    gpg = open_keyring(home)
    for fingerprint in vendor_keys:
        problem = vendor_key_problem(gpg, fingerprint, home)
        if problem:
            return problem
    if system_key:
        problem = system_key_problem(gpg, system_key, home)
        if problem:
            return problem
    detail = _last_error_line(stderr) or _last_status(stderr) or "no output"
    if system_key and ("passphrase" in detail.lower() or "pinentry" in detail.lower()):
        return (f"gpg could not use system key {system_key}: it needs a passphrase; tkalert signs unattended, "
                "so create a key without one ('tkalert keygen')")
    return f"gpg failed to sign/encrypt in {home}: {detail}"


def _last_error_line(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith(STATUS)]
    return lines[-1] if lines else ""


def _last_status(stderr: str) -> str:
    lines = [ln[len(STATUS):].strip() for ln in stderr.splitlines() if ln.startswith(STATUS)]
    return lines[-1] if lines else ""
