"""The benchmarks' browser: a fresh headless Chromium (Debian's chromium and chromedriver)."""
from __future__ import annotations


def chromium(profile: str, on_new_document: str | None = None):
    """Returns a headless Chromium WebDriver with its own ``profile`` folder, 1920x1080, its
    background traffic off; ``on_new_document``: a script run in every page before its own."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    opts = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1920,1080",
                f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(options=opts)
    if on_new_document is not None:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                               {"source": on_new_document})
    return driver
