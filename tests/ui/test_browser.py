"""The pages in a real browser: Debian's Chromium driven through chromium-driver by selenium (no browser
download). Sign-in against the simulator's OAuth page, each page rendered with data, charts present,
buttons that act for an owner and are refused for someone else, accessibility basics. Screenshots go to
$PROMPT_REVIEW_UI_SCREENSHOTS (default: a directory of the test run) for a human to look at."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from bot.core.result import COMMENT_MARKER
from tests.ui.conftest import REPO, SYSTEM


def _find(*names: str) -> str:
    for name in names:
        path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
        if path:
            return path
    pytest.fail(f"{' or '.join(names)} is not installed: scripts/test.sh installs Debian's chromium and chromium-driver")


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    where = os.environ.get("PROMPT_REVIEW_UI_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {path}")
    return path


@pytest.fixture
def browser():
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must never fetch a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = _find("chromium", "chromium-browser")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,1600",
                 "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=_find("chromedriver")))
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


NAVIGATION = 60  # seconds a click may take to load the next page on a loaded machine; a wait, not an assertion


def follow(driver, by: str, what: str) -> None:
    """Click a link or button and wait until the next page has replaced this one: `click()` returns as soon as
    the click is dispatched, and reading the page straight after it may read the old one."""
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(by, what).click()
    WebDriverWait(driver, NAVIGATION).until(_replaced(old))


def _replaced(element):
    """expected_conditions.staleness_of, also when chromium reports the old page's element as a node that "does not
    belong to the document" (a WebDriverException, seen under load) rather than as a stale element: the same fact."""
    def check(_driver) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    return check


def sign_in(driver, url: str, login: str, page: str) -> None:
    driver.get(url + page)  # anonymous: sent to GitHub's sign-in, then back here
    field = driver.find_element(By.ID, "login")
    assert driver.find_element(By.CSS_SELECTOR, "label[for=login]").text == "Username"
    field.send_keys(login)
    follow(driver, By.ID, "authorize")
    # through the callback's redirect, back where the person started
    WebDriverWait(driver, NAVIGATION).until(lambda d: d.current_url == url + page, f"sign-in did not come back to {page}")
    assert driver.current_url == url + page


def _luminance(rgb: str) -> float:
    parts = [int(float(x)) for x in rgb[rgb.index("(") + 1: rgb.index(")")].split(",")[:3]]
    lin = [(c / 255 / 12.92) if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in parts]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(driver, el) -> float:
    fg = driver.execute_script("return getComputedStyle(arguments[0]).color", el)
    bg = driver.execute_script("""let e = arguments[0];
        while (e) { const c = getComputedStyle(e).backgroundColor; if (c && !c.endsWith(', 0)') && c !== 'transparent') return c; e = e.parentElement; }
        return 'rgb(255, 255, 255)';""", el)
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def accessible_basics(driver) -> None:
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert len(driver.find_elements(By.TAG_NAME, "h1")) == 1 and driver.find_elements(By.TAG_NAME, "main")
    assert driver.title
    for field in driver.find_elements(By.CSS_SELECTOR, "input:not([type=hidden])"):
        assert driver.find_elements(By.CSS_SELECTOR, f"label[for='{field.get_attribute('id')}']"), field.get_attribute("name")
    for svg in driver.find_elements(By.CSS_SELECTOR, "svg.chart"):
        assert svg.get_attribute("role") == "img" and svg.find_elements(By.TAG_NAME, "title")
    levels = [int(h.tag_name[1]) for h in driver.find_elements(By.CSS_SELECTOR, "main h1, main h2, main h3, main h4")]
    assert levels[0] == 1 and all(b <= a + 1 for a, b in zip(levels, levels[1:])), levels  # no level skipped
    for table in driver.find_elements(By.CSS_SELECTOR, "main table"):
        heads = table.find_elements(By.CSS_SELECTOR, "thead th")
        assert all(th.get_attribute("scope") == "col" for th in heads), (driver.current_url, [th.text for th in heads])
    for link in driver.find_elements(By.CSS_SELECTOR, "main a"):
        assert link.text.strip() or link.get_attribute("aria-label"), link.get_attribute("href")  # says where it goes
    for css in ("main h1", "main a", "main p, main li, main td", "main th", ".when", "[class^=verdict-]", "header a",
                ".refused", ".note"):
        for el in driver.find_elements(By.CSS_SELECTOR, css)[:20]:
            assert contrast(driver, el) >= 4.5, (css, el.text[:60])


def test_sign_in_then_every_page_renders_with_data_and_charts(history, browser, shots):
    url = history.url
    sign_in(browser, url, "erin", f"/ui/repos/{REPO}")
    assert browser.find_element(By.TAG_NAME, "h1").text == REPO
    assert SYSTEM in browser.find_element(By.TAG_NAME, "table").text
    accessible_basics(browser)
    browser.save_screenshot(str(shots / "repo.png"))

    rollouts = browser.find_element(By.CSS_SELECTOR, "table.rollouts").text
    assert "canary" in rollouts and "90%" in rollouts and "10%" in rollouts and "1 of 3" in rollouts

    browser.get(url + "/ui/")
    assert REPO in browser.find_element(By.TAG_NAME, "main").text
    accessible_basics(browser)
    browser.save_screenshot(str(shots / "index.png"))

    follow(browser, By.LINK_TEXT, REPO)
    follow(browser, By.LINK_TEXT, SYSTEM)
    assert browser.find_element(By.TAG_NAME, "h1").text == SYSTEM
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert charts and charts[0].find_elements(By.CSS_SELECTOR, "circle.score")
    assert len(browser.find_elements(By.CSS_SELECTOR, "ol.timeline li")) >= 4
    assert "reached 10% of canary" in browser.find_element(By.CSS_SELECTOR, "ol.timeline li.rollout").text
    accessible_basics(browser)
    browser.save_screenshot(str(shots / "prompt.png"))

    follow(browser, By.PARTIAL_LINK_TEXT, "merged from #2")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Review of #2"
    assert browser.find_elements(By.CSS_SELECTOR, "table.cases tbody tr")
    accessible_basics(browser)
    browser.save_screenshot(str(shots / "review.png"))

    [comment] = [c for c in history.stack.sim.comments(REPO, 2) if c.body.startswith(COMMENT_MARKER)]
    browser.get("about:blank")
    browser.get(re.search(r"\[full review with every case and output\]\(([^)]+)\)", comment.body).group(1))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Review of #2"  # the PR comment's link opens the page


def test_an_owner_deploys_with_the_button_after_a_confirmation_naming_the_move(history, browser, shots):
    sign_in(browser, history.url, "erin", f"/ui/repos/{REPO}/prompts/{SYSTEM}")
    good_version = browser.find_elements(By.CSS_SELECTOR, "table code")[-1].text  # the oldest row: PR #1's version
    follow(browser, By.LINK_TEXT, f"Deploy {good_version} to production")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Deploy to production?"
    assert good_version in browser.find_element(By.TAG_NAME, "table").text
    accessible_basics(browser)
    browser.save_screenshot(str(shots / "confirm.png"))
    follow(browser, By.ID, "confirm")
    assert "Done: deploy" in browser.find_element(By.CSS_SELECTOR, "p.note").text
    assert f"production → {good_version}" in browser.find_element(By.CSS_SELECTOR, "ol.timeline").text
    browser.save_screenshot(str(shots / "deployed.png"))


def test_someone_who_does_not_own_the_prompt_gets_no_buttons_and_is_refused(history, browser, shots):
    sign_in(browser, history.url, "dave", f"/ui/repos/{REPO}/prompts/{SYSTEM}")
    assert not browser.find_elements(By.PARTIAL_LINK_TEXT, "Deploy ")
    assert "not offered to you" in browser.find_element(By.ID, "why-no-buttons").text
    browser.get(history.url + f"/ui/repos/{REPO}/deploy?label=staging&path={SYSTEM}&commit={history.bad}")
    follow(browser, By.ID, "confirm")  # the page can be reached; the release rules refuse
    assert browser.find_element(By.TAG_NAME, "h1").text == "Refused"
    assert "may not deploy" in browser.find_element(By.TAG_NAME, "main").text
    browser.save_screenshot(str(shots / "refused.png"))


def test_a_person_without_access_never_sees_the_repository(history, browser, shots):
    sign_in(browser, history.url, "mallory", "/ui/")
    assert REPO not in browser.find_element(By.TAG_NAME, "main").text
    browser.get(history.url + f"/ui/repos/{REPO}/prompts/{SYSTEM}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not available"
    browser.save_screenshot(str(shots / "no-access.png"))
