"""Long property runs over every option of `tkalert` (marked `long`: run them with `-m long`).

In process, 100,000 argvs built from tkalert.cli.options.OPTIONS (every option, both spellings, both `--name=value`
and `--name value`, flags with and without values, junk words and bytes that are not UTF-8) end in a valid document,
a usage error or another documented exit code, never an internal error; then 300 real `python3 -m tkalert` runs
with random bytes in argv, some under a strict or ASCII output encoding. `--dump-xml=-` comes last, and the config
names no destination and no vendor key, so nothing leaves this machine and gpg is never run.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from cast.plugins import ROOT
from test_any_input import argv_text, assert_plugin_line, run_in_process
from tkalert.cli.options import OPTIONS
from tkalert.document.reader import parse_valid

pytestmark = pytest.mark.long

CASES, CHUNKS = int(os.environ.get("TKALERT_LONG_CASES", 100_000)), 4
RUNS = int(os.environ.get("TKALERT_LONG_RUNS", 300))
# tkalert(1), EXIT STATUS
EXIT_CODES = {0, 1, 2, 73, 74, 75, 77, 78}
# values that lead past the first check into deeper paths
MEANINGFUL = [
    "heartbeat", "service", "host", "test", "OK", "warning", "2", "3", "DOWN", "up", "unreachable", "PROBLEM",
    "Recovery", "DowntimeStart", "FLAPPINGSTART", "Acknowledgement", "custom", "0", "1", "yes", "off", "TRUE",
    "1700000000.75", "0.5", "1e3", "-", "NOT_SET", "$_HOSTTK_SERIAL$", "2001:db8::1", "a@example.com",
    "/nonexistent/tkalert.conf", "/tmp", ".", "]]>", "\udcff\udcfe", "\u00b2", "\u0663",
]
BASES = [
    [],
    ["--type=service", "--host=web01", "--service=RAID", "--service-status=CRITICAL"],
    ["--type=host", "--host=gw01", "--host-status=DOWN"],
]


@pytest.fixture(scope="module", autouse=True)
def offline_config(tmp_path_factory):
    """Everything an event needs, no destination, no [gnupg]: nothing can be sent or sealed."""
    base = tmp_path_factory.mktemp("long")
    path = base / "tkalert.conf"
    path.write_text(f"[tkalert]\nauth_key = 0123456789a\ncontact_person = Test\ncontact_mail = ops@acme.de\n"
                    f"system_id = long-test\nstate_dir = {base / 'state'}\nspool_dir = {base / 'spool'}\n")
    saved = {name: os.environ.pop(name, None) for name in ("TKALERT_CONFIG", "TKALERT_AUTH_KEY")}
    os.environ["TKALERT_CONFIG"] = str(path)
    yield path
    for name, value in saved.items():
        os.environ.pop(name, None)
        if value is not None:
            os.environ[name] = value


values = st.one_of(argv_text, st.sampled_from(MEANINGFUL))


@st.composite
def option_words(draw) -> list[str]:
    option = draw(st.sampled_from(OPTIONS))
    name = draw(st.sampled_from(option.names))
    if option.metavar is None:
        return [draw(st.sampled_from([name, name, f"{name}=", f"{name}=1"]))]
    value = draw(values)
    return [f"{name}={value}"] if draw(st.booleans()) else [name, value]


words = st.one_of(option_words(), option_words(), option_words(), argv_text.map(lambda text: [text]))
argvs = st.builds(lambda base, parts: base + [w for part in parts for w in part] + ["--dump-xml=-"],
                  st.sampled_from(BASES), st.lists(words, max_size=8))


def assert_documented(args: list[str], code: int, out: bytes, err: str) -> None:
    """A valid document, a plugin line, a usage error or a documented exit code with one `tkalert:` line."""
    assert "Traceback" not in err, (args, err)  # even --verbose shows a traceback only for an internal error
    assert "internal error" not in err and b"internal error" not in out, (args, out, err)
    if out.startswith(b"tkalert/"):  # --check: TKalert 1.5's plugin line, the state's code (usage error: 3)
        assert_plugin_line(code, out)
        return
    if code == 0:
        if out.startswith(b"<?xml"):
            parse_valid(out)
        else:
            assert out in (b"tkalert not enabled, exit.\n", b"") or out.startswith((b"Usage:", b"tkalert ")), (
                args, out, err)
            if out == b"":
                assert err.splitlines()[-1].startswith("tkalert: skipped: "), (args, err)
        return
    assert code in EXIT_CODES, (args, code, err)
    assert err.splitlines()[-1].startswith("tkalert: "), (args, code, err)


def run_chunk(chunk: int) -> tuple[int, float, str | None]:
    """One seed's share of the cases: (cases run, seconds, the failure with hypothesis's falsifying example)."""
    ran = 0
    started = time.perf_counter()

    @seed(chunk)
    @settings(max_examples=CASES // CHUNKS, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(args=argvs)
    def case(args):
        nonlocal ran
        ran += 1
        assert_documented(args, *run_in_process(args))

    try:
        case()
    except Exception as exc:  # noqa: BLE001 - handed to the parent as text: the worker's exception may not pickle
        notes = "\n".join(getattr(exc, "__notes__", []))
        return ran, time.perf_counter() - started, f"{type(exc).__name__}: {exc}\n{notes}"
    return ran, time.perf_counter() - started, None


def test_any_argv_in_process():
    """CASES argvs in CHUNKS hypothesis runs with fixed seeds, on both cores (forked workers call main() in
    process; the parent only collects)."""
    import multiprocessing

    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(min(2, os.cpu_count() or 1)) as pool:
        results = pool.map(run_chunk, range(CHUNKS), chunksize=1)
    total = sum(ran for ran, _, _ in results)
    print(f"\n{total} in-process cases in {time.perf_counter() - started:.1f}s "
          f"({', '.join(f'{seconds:.0f}s' for _, seconds, _ in results)} per chunk)")
    failures = [failure for _, _, failure in results if failure]
    assert not failures, failures[0]
    assert total >= CASES


def random_argv(rng: random.Random) -> list[bytes]:
    args: list[bytes] = [w.encode() for w in rng.choice(BASES)]
    for _ in range(rng.randrange(9)):
        junk = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(12)))
        option = rng.choice(OPTIONS)
        name = rng.choice(option.names).encode()
        shape = rng.randrange(4)
        if shape == 0:
            args.append(junk)
        elif shape == 1 or option.metavar is None:
            args.append(name + b"=" + junk)
        else:
            args += [name, junk]
    return args + [b"--dump-xml=-"]


ENVS = [{}, {}, {"PYTHONIOENCODING": "ascii:strict"}, {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}]


def test_random_bytes_in_real_argv(offline_config):
    rng = random.Random(20261203)
    runs = [(random_argv(rng), rng.choice(ENVS)) for _ in range(RUNS)]
    base_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

    def run(job):
        args, extra = job
        done = subprocess.run([sys.executable, "-m", "tkalert", *args], capture_output=True,
                              env={**base_env, **extra}, timeout=60, check=False)
        return args, extra, done

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, runs))
    print(f"\n{len(results)} runs in {time.perf_counter() - started:.1f}s")
    assert len(results) >= RUNS
    for args, extra, done in results:
        err = done.stderr.decode("utf-8", "replace")
        assert b"Traceback" not in done.stderr, (args, extra, err)
        assert b"internal error" not in done.stderr + done.stdout, (args, extra, err)
        if done.stdout.startswith(b"tkalert/"):
            assert_plugin_line(done.returncode, done.stdout)
        elif done.returncode == 0 and done.stdout.startswith(b"<?xml"):
            parse_valid(done.stdout)
        elif done.returncode != 0:
            assert done.returncode in EXIT_CODES, (args, extra, err)
            assert err.splitlines()[-1].startswith("tkalert: "), (args, extra, err)
