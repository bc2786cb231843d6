"""The dashboard in a real headless Chromium (tests/cast/browser.py), served by `tkalert-receiver serve`: log in,
the overview of a seeded fleet, filter, open a system, retry a quarantined message. Screenshots of the overview
and the system page go to the artefact folder (dashboard-overview.png, dashboard-system.png)."""

from __future__ import annotations

import pytest
from cast.browser import artefact_dir, browser
from cast.dashboard import PASSWORD, serve_dashboard


@pytest.fixture
def dashboard(tmp_path, keys):
    made = serve_dashboard(tmp_path / "receiver", keys, systems=60)
    yield made
    made.site.stop()


def test_a_support_engineer_works_through_the_dashboard(dashboard):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    shots = artefact_dir()
    with browser() as driver:
        driver.get(dashboard.url + "/")
        assert driver.current_url.startswith(dashboard.url + "/login/")
        driver.find_element(By.ID, "id_username").send_keys("sam")
        driver.find_element(By.ID, "id_password").send_keys(PASSWORD)
        driver.find_element(By.ID, "login").click()

        assert driver.title.startswith("(6 overdue) Fleet")
        rows = driver.find_elements(By.CSS_SELECTOR, "table.fleet tbody tr")
        assert len(rows) == 60
        assert len(rows[0].find_elements(By.CSS_SELECTOR, "td.strip i")) == 30
        assert "overdue, stage" in rows[0].text
        # the page's CSS came from the dashboard itself: strip cells are coloured
        cell = rows[0].find_element(By.CSS_SELECTOR, "td.strip i.c-ok")
        assert cell.value_of_css_property("background-color") == "rgba(47, 158, 68, 1)"
        driver.save_screenshot(str(shots / "dashboard-overview.png"))

        Select(driver.find_element(By.ID, "f-state")).select_by_value("overdue")
        driver.find_element(By.ID, "f-text").send_keys("sys-0000")
        driver.find_element(By.ID, "f-go").click()
        names = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "a.system")]
        assert names == ["sys-00000.acme.example"]  # of sys-00000 to sys-00009 only the first is overdue

        driver.find_element(By.LINK_TEXT, "sys-00000.acme.example").click()
        assert driver.title.startswith("sys-00000.acme.example")
        assert "overdue, stage 1" in driver.find_element(By.TAG_NAME, "h1").text
        episodes = driver.find_element(By.ID, "episodes").text
        assert "IPMI Sensors" in episodes and "RT#1000" in episodes
        assert driver.find_element(By.ID, "drift").text.startswith("latest -3 s")
        driver.set_window_size(1400, 1800)  # the whole page: strip, silences, episodes with tickets, keys
        driver.save_screenshot(str(shots / "dashboard-system.png"))
        driver.set_window_size(1400, 900)

        driver.find_element(By.LINK_TEXT, "Quarantine").click()
        picks = driver.find_elements(By.CSS_SELECTOR, "input[name=id]")
        number = int(picks[0].get_attribute("value"))
        picks[0].click()
        driver.find_element(By.ID, "retry").click()
        assert "1 messages queued again" in driver.find_element(By.CSS_SELECTOR, ".notices").text
        assert str(number) not in [p.get_attribute("value") for p in driver.find_elements(By.CSS_SELECTOR,
                                                                                              "input[name=id]")]
        driver.save_screenshot(str(shots / "dashboard-quarantine.png"))
    assert dashboard.site.rows("SELECT state FROM receiver_message WHERE id = ?", (number,)) == [("stored",)]
    for name in ("dashboard-overview.png", "dashboard-system.png"):
        assert (shots / name).read_bytes().startswith(b"\x89PNG")
