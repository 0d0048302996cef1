"""Headless Chromium from Debian's packages (make test installs chromium and chromium-driver)."""

from __future__ import annotations

from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# The login redirect and React's re-renders replace elements between finding one and reading
# it: a wait retries those reads instead of failing on the first stale reference.
RERENDERED = (NoSuchElementException, StaleElementReferenceException)
# The network flags keep Chromium from calling Google's hosts, which this machine's closed
# network refuses.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1000",
)


def logged_in_page(
    url: str, username: str, password: str, ready_when: str, screenshot: Path, profile: Path
) -> str:
    """Open url, log in through Airflow's login form, wait until the page shows ready_when,
    save a screenshot; the page's text."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        browser.get(url)
        WebDriverWait(browser, 60, ignored_exceptions=RERENDERED).until(
            lambda page: page.find_elements(By.NAME, "password")
        )
        browser.find_element(By.NAME, "username").send_keys(username)
        browser.find_element(By.NAME, "password").send_keys(password)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        text = WebDriverWait(browser, 60, ignored_exceptions=RERENDERED).until(
            lambda page: _text_once_showing(page, ready_when)
        )
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(screenshot))
        return text
    finally:
        browser.quit()


def _text_once_showing(page: webdriver.Chrome, ready_when: str) -> str | None:
    text = page.find_element(By.TAG_NAME, "body").text
    return text if ready_when in text else None
