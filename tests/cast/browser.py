"""A real headless Chromium for the receiver's dashboard tests: Debian's `chromium` and `chromium-driver`, driven
by Selenium (scripts/install-browser installs them, scripts/test calls it).

`browser()` is a context manager giving a Selenium WebDriver. The driver binary is Debian's /usr/bin/chromedriver,
named explicitly so Selenium never runs its "selenium manager" (which would try to download a driver: the tests are
offline). As root Chromium needs --no-sandbox. Pages must work offline: nothing but 127.0.0.1 is reachable, and a
request anywhere else fails at once (--host-resolver-rules maps every other name to an unreachable address).
`artefact_dir()` is where screenshots go (TKALERT_ARTEFACTS, else tests/artefacts/ beside this file's folder), so CI
can keep them and a closing note can name them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

DRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


def available() -> str | None:
    """None when the browser can run here, else why not (for a clear failure message)."""
    for path in (DRIVER, CHROMIUM):
        if not shutil.which(path):
            return f"{path} is missing (scripts/install-browser installs Debian's chromium and chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def artefact_dir() -> Path:
    path = Path(os.environ.get("TKALERT_ARTEFACTS") or Path(__file__).resolve().parents[1] / "artefacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def browser(width: int = 1400, height: int = 900):
    missing = available()
    if missing:
        raise RuntimeError(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="tkalert-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}", f"--user-data-dir={profile}", "--no-first-run",
                     "--disable-extensions", "--disable-background-networking", "--disable-sync",
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(10)  # a click that submits a form returns before the next page is there
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
