"""The live page in a real browser (Debian's Chromium through playwright) on the real stack.

The page loads, a real hour is replayed, and the running total and the chart advance and
every consumer group returns to OK. A screenshot of the end (and one of a narrow screen)
is saved under ``.ghlake/test-artifacts/``; the path is printed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghlake.hours import Hour
from ghlake.platform import Platform
from tests.conftest import REPO_ROOT, replay

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / ".ghlake" / "test-artifacts"
HOUR = "2015-01-01-3"

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium from Debian (never `playwright install`)."""
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (scripts/install.sh installs it)")
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def total(page: object) -> int:
    text = page.locator("#total").inner_text()  # type: ignore[attr-defined]
    return int(re.sub(r"\D", "", text) or 0)


def test_the_page_follows_a_replayed_hour(
    platform: Platform, browser: object, gharchive_dir: Path
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 1000})  # type: ignore[attr-defined]
    origin = platform.settings.api.url
    page.on("request", lambda r: None if r.url.startswith(origin) else outside.append(r.url))
    page.goto(f"{origin}/")
    page.wait_for_function("document.querySelector('#connection').dataset.state === 'live'")
    page.wait_for_function("/\\d/.test(document.querySelector('#total').textContent)")
    before = total(page)

    replay(platform, str(gharchive_dir), [Hour.parse(HOUR)], force=True)

    counted = "Number(document.querySelector('#total').textContent.replace(/\\D/g, ''))"
    page.wait_for_function(f"{counted} >= {before + 5971}", timeout=180_000)
    assert total(page) >= before + 5971, "every event of the hour counted"
    # The chart draws once events arrive: uPlot's canvas, with a series per event type.
    page.wait_for_selector("#chart canvas", timeout=30_000)
    assert page.locator("#chart .u-legend .u-series").count() > 1
    # Every group back to OK and caught up, as the page shows them.
    page.wait_for_function(
        """() => { const rows = [...document.querySelectorAll('#groups tbody tr')];
                   return rows.length >= 2 && rows.every(r =>
                     r.cells[1].textContent === 'OK' && r.cells[2].textContent === '0'); }""",
        timeout=180_000,
    )
    assert page.locator("#latest tbody tr:not(.empty)").count() > 0
    shot = ARTIFACTS / "live-page.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nlive page screenshot: {shot}")
    assert not outside, f"the page fetched from outside hosts: {outside}"

    # A narrow screen: one column, nothing wider than the viewport.
    page.set_viewport_size({"width": 390, "height": 900})
    time.sleep(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the narrow page scrolls sideways ({width}px)"
    page.screenshot(path=str(ARTIFACTS / "live-page-narrow.png"), full_page=True)
    page.close()


def test_a_hidden_tab_pauses_and_resumes_where_it_left(platform: Platform, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/v1/live/stream" in r.url else None)
    page.goto(f"{platform.settings.api.url}/")
    page.wait_for_function("document.querySelector('#connection').dataset.state === 'live'")
    hide = """Object.defineProperty(document, 'hidden', {value: %s, configurable: true});
              document.dispatchEvent(new Event('visibilitychange'));"""
    page.evaluate(hide % "true")
    assert page.locator("#connection").inner_text().startswith("paused")
    page.evaluate(hide % "false")
    page.wait_for_function("document.querySelector('#connection').dataset.state === 'live'")
    assert len(streams) == 2
    assert "last_event_id=" in streams[1], "the page resumes from the last event it saw"
    page.close()
