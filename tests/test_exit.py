"""The console script's way out (tkalert.cli.run): main(), stdout and stderr flushed, then os._exit with the code.

The interpreter's teardown is skipped, so nothing may be left in a buffer: the plugin line must arrive whole
through a pipe, the code must be main()'s, and a reader that went away must not turn into a traceback.
"""

from __future__ import annotations

import subprocess
import sys

from cast.plugins import run_tkalert


def test_plugin_line_and_code_arrive_through_the_pipe(config, smtp_sink):
    done = run_tkalert("--type=heartbeat", "--check")  # python -m tkalert: tkalert.cli.run
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith("tkalert/") and done.stdout.decode().rstrip().endswith("s")
    assert done.stdout.endswith(b"\n") and len(smtp_sink.mails) == 1


def test_exit_code_of_a_failure_is_kept(tmp_path):
    done = run_tkalert("--type=heartbeat", f"--config={tmp_path / 'missing.conf'}")
    assert done.returncode == 78 and done.stderr.count(b"\n") == 1, done.stderr


def test_a_reader_gone_away_is_an_exit_code_not_a_traceback(config, smtp_sink):
    reader_gone = subprocess.Popen([sys.executable, "-m", "tkalert", "--help"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
    reader_gone.stdout.close()  # nobody reads the help text
    stderr = reader_gone.stderr.read()
    assert reader_gone.wait() != 0 or stderr == b""
    assert b"Traceback" not in stderr


def test_main_returns_in_process(config, smtp_sink):
    from tkalert.cli import main

    assert main(["--type=heartbeat"]) == 0  # tests and embedders call main(): it returns, it never _exits
