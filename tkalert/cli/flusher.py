"""`tkalert flusher`: the resident flusher that notification hooks hand their flush to (tkalert.sender.spool.resident).

Under systemd, tkalert-flusher.socket listens and starts tkalert-flusher.service at the first connection: the socket
arrives as file descriptor 3 ($LISTEN_PID, $LISTEN_FDS; sd_listen_fds(3)). Started by hand, `tkalert flusher
[--socket PATH]` binds the socket itself as the spool's owner, mode 0600, in place of a stale one (a flusher
killed with -9 leaves it behind), and removes it when it stops. Either way it exits after --idle seconds without a
hook, and the hooks flush for themselves whenever nothing answers on the socket.
"""

from __future__ import annotations

import os
import signal
import socket
import stat

import click

from tkalert.cli.spoolcmds import config_option

LISTEN_FDS_START = 3  # sd_listen_fds(3): the first passed socket


@click.command()
@config_option
@click.option("--socket", "socket_path", metavar="PATH", default=None,
              help="Listen here when not socket-activated (default: [spool] flusher_socket, which the hooks use).")
@click.option("--idle", type=click.FloatRange(min=0), default=300.0, show_default=True, metavar="SECONDS",
              help="Exit after this long without a hook.")
@click.option("--verbose", is_flag=True, help="Log each flush on stderr.")
def flusher(config, socket_path, idle, verbose):
    """Flush the spool for the notification hooks that connect to its socket; exit when idle."""
    from tkalert.config.settings import load_settings
    from tkalert.log import log, set_up
    from tkalert.sender.checked import identity
    from tkalert.sender.pipeline import digest_maker
    from tkalert.sender.spool.resident import serve
    from tkalert.sender.spool.site import open_site

    set_up(verbose)
    settings = load_settings(config)
    site = open_site(settings)  # as the spool's owner from here on: the socket and the note belong to that user
    settings, options, checked = _checked(config)
    listener = activated_socket()
    path = None if listener is not None else (socket_path or site.policy.spool.flusher_socket)
    if path is not None:
        listener, lock = bind(path)
    signal.signal(signal.SIGTERM, _stop)
    log.info("tkalert flusher: listening on %s", path or "the socket systemd passed")
    try:
        answered = 0
        while True:  # a changed config file is read (strictly) again between two rounds
            answered += serve(settings, listener, digest_maker(settings, options), idle,
                              current=lambda path=settings.path, noted=checked: identity(path) == noted)
            if identity(settings.path) == checked:
                break
            log.info("tkalert flusher: %s changed, read again", settings.path)
            settings, options, checked = _checked(config)
    except KeyboardInterrupt:
        answered = None
    finally:
        listener.close()
        if path is not None:
            _unlink(path)
            lock.release()
    log.info("tkalert flusher: %s", "stopped" if answered is None else f"idle, answered {answered} hook(s)")
    return 0


def _checked(config):
    """Settings with every destination read strictly (and its transport imported) before the first hook; noted,
    so hooks with the same config file need not import the transports (tkalert.sender.checked)."""
    from tkalert.config.settings import load_settings
    from tkalert.openpgp.home import resolve_home
    from tkalert.sender.checked import note_checked
    from tkalert.sender.pipeline import SendOptions, check_options
    from tkalert.sender.spool.disk import ensure_dir

    settings = load_settings(config)
    options = SendOptions(gnupg_home=resolve_home(settings.gnupg_home, None))
    check_options(settings, options, strict=True)
    ensure_dir(settings.state_dir)
    return settings, options, note_checked(settings)


def _stop(signum, frame):
    """SIGTERM (systemctl stop): leave as from Ctrl-C, through the clean-up (a flush cut short is a crash the
    spool recovers from)."""
    raise KeyboardInterrupt


def activated_socket() -> socket.socket | None:
    """The listening socket systemd passed to this process, if any (and the variables removed, sd_listen_fds)."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()) or not os.environ.get("LISTEN_FDS"):
        return None
    count = os.environ.get("LISTEN_FDS")
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)
    if count != "1":
        from tkalert.errors import ConfigError

        raise ConfigError(f"tkalert flusher takes one socket from systemd, not {count}: one ListenStream= line")
    return socket.socket(fileno=LISTEN_FDS_START)


def bind(path: str):
    """Listen on `path` (mode 0600); a stale socket is replaced, a live one (another flusher, systemd) refused.
    Returns the socket and the lock (PATH.lock) that keeps a second flusher started by hand from taking it over."""
    from tkalert.errors import ConfigError, SpoolError
    from tkalert.sender.spool.lock import FileLock

    if len(os.fsencode(path)) >= 108 - len(".new"):  # sun_path
        raise ConfigError(f"{path}: a unix socket's path must be shorter than 108 bytes; set flusher_socket in "
                          "[spool] (tkalert.conf(5)) or use --socket")
    lock = FileLock(path + ".lock")
    if not lock.try_acquire():
        raise SpoolError(f"another tkalert flusher already listens on {path}")
    try:
        if os.path.lexists(path):
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                raise SpoolError(f"{path} exists and is not a socket: remove it or choose another flusher_socket")
            if _answers(path):
                raise SpoolError(f"{path} is listened on already (tkalert-flusher.socket?): nothing to start")
            os.unlink(path)  # stale: its flusher died without removing it
        # Bound and listening under a second name, then renamed into place: a hook never finds the path bound
        # but not yet listening (it would flush for itself, needlessly).
        fresh = path + ".new"
        _unlink(fresh)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        mask = os.umask(0o177)
        try:
            listener.bind(fresh)
        finally:
            os.umask(mask)
        listener.listen(socket.SOMAXCONN)
        os.rename(fresh, path)
    except BaseException:
        lock.release()
        raise
    return listener, lock


def _answers(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
