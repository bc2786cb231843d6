"""Serve: the embedded receiver in one command: SMTP/LMTP listeners, the HTTPS door, the dashboard and the workers.

The listeners run in this process (asyncio, aiosmtpd); the HTTPS door is gunicorn with the receiver's certificate
(a production server, never Django's runserver); each worker is a `tkalert-receiver work` child process, started
again when it dies. Children get SIGTERM when this process dies, even by kill -9 (Linux's PR_SET_PDEATHSIG), so
a restarted `serve` finds its ports free. Nothing here judges: what the listeners answered 250 to is in the store,
and whatever happens to this process the workers take it from there.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

from tkalert.errors import one_line
from tkalert.receiver.config import CONFIG_ENV, ReceiverConfig
from tkalert.receiver.ingest.smtp import start_listeners
from tkalert.receiver.ingest.store import prepare, sweep_tmp

RESTART_DELAY = 1.0
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def child_commands(config: ReceiverConfig) -> list[list[str]]:
    base = [sys.executable, "-m", "tkalert.receiver", "--config", str(config.path)]
    commands = [[*base, "work"] for _ in range(config.workers)]
    commands.append([*base, "sweep", "--loop"])  # escalation stages and the outbox on a timer
    if config.https_listen:
        host, port = config.https_listen
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        commands.append([sys.executable, "-m", "gunicorn", "--certfile", str(config.certificate),
                         "--keyfile", str(config.certificate_key), "--bind", bind, "--workers", "2",
                         "--log-level", "warning", "tkalert.receiver.ingest.https:application_from_env()"])
    if config.web.listen:
        commands.append(dashboard_command(config))
    return commands


def dashboard_command(config: ReceiverConfig) -> list[str]:
    """gunicorn on web_listen with the dashboard (tkalert.receiver.web.wsgi), TLS when web_tls is on."""
    host, port = config.web.listen
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    tls = ["--certfile", str(config.certificate), "--keyfile", str(config.certificate_key)] \
        if config.web.tls == "on" else []
    return [sys.executable, "-m", "gunicorn", *tls, "--bind", bind, "--workers", "2", "--threads", "4",
            "--log-level", "warning", "tkalert.receiver.web.wsgi:application"]


class Children:
    """The worker and HTTPS processes, each started again when it exits while serving."""

    def __init__(self, commands: list[list[str]], config: ReceiverConfig, log):
        self.commands, self.log = commands, log
        self.env = {**os.environ, CONFIG_ENV: str(config.path)}
        self.processes: list[subprocess.Popen | None] = [None] * len(commands)
        self.stopping = False

    def start(self, index: int) -> None:
        self.processes[index] = subprocess.Popen(self.commands[index], env=self.env, preexec_fn=die_with_parent)

    async def supervise(self) -> None:
        for index in range(len(self.commands)):
            self.start(index)
        while not self.stopping:
            await asyncio.sleep(RESTART_DELAY)
            for index, process in enumerate(self.processes):
                if process is not None and process.poll() is not None and not self.stopping:
                    self.log(f"{self.commands[index][-1].split(':')[0]} exited with {process.returncode}; restarting")
                    self.start(index)

    def stop(self) -> None:
        self.stopping = True
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in self.processes:
            if process is not None:
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()


def log_line(line: str) -> None:
    print(f"tkalert-receiver: {one_line(line)}", file=sys.stderr, flush=True)


async def serve(config: ReceiverConfig, log=log_line) -> None:
    prepare(config.store_dir)
    sweep_tmp(config.store_dir)
    servers = []
    for channel, addresses in (("smtp", config.smtp_listen), ("lmtp", config.lmtp_listen)):
        servers += await start_listeners(addresses, config.store_dir, channel, config.size_limit, log)
    children = Children(child_commands(config), config, log)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    listening = [f"{c} {h}:{p}" for c, a in (("smtp", config.smtp_listen), ("lmtp", config.lmtp_listen),
                                               ("https", [config.https_listen] if config.https_listen else []),
                                               ("dashboard", [config.web.listen] if config.web.listen else []))
                 for h, p in a]
    log(f"serving ({', '.join(listening) or 'no listener'}; {config.workers} workers)")
    supervisor = asyncio.create_task(children.supervise())
    try:
        await stop.wait()
    finally:
        for server in servers:
            server.close()
        children.stop()
        supervisor.cancel()
    log("stopped")
