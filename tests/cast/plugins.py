"""Run tkalert as a monitoring daemon does: `python -m tkalert` and the check plugins, as child processes.

Children import this tree's code (PYTHONPATH names ROOT), never an installed tkalert.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


def daemon_env(*paths: Path) -> dict:
    """A daemon's bare environment (PATH, no HOME) that imports this tree, and `paths` before it."""
    return {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join(str(p) for p in (*paths, ROOT))}


def run_tkalert(*args: str, env: dict | None = None, input: bytes | None = None, timeout: float = 60):
    """Run the real command in a child process, as a monitoring daemon would (with this process's environment
    unless `env` is given)."""
    full_env = dict(os.environ if env is None else env)
    return subprocess.run([sys.executable, "-m", "tkalert", *args], capture_output=True, env=full_env,
                          input=input, timeout=timeout, check=False)


def run_plugin(name: str, config: Path, *args: str, timeout: float = 60) -> tuple[int, str]:
    """Run plugins/NAME --config CONFIG ARGS in a daemon's bare environment: (exit code, stripped stdout)."""
    done = subprocess.run([sys.executable, str(ROOT / "plugins" / name), "--config", str(config), *args],
                          capture_output=True, text=True, env=daemon_env(), timeout=timeout, check=False)
    return done.returncode, done.stdout.strip()
