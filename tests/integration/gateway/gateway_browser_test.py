#!/usr/bin/python3
"""The dashboard in a real browser (headless Debian chromium through
chromedriver and python3-selenium) during a supervised night run.

The run's scheduler is held (SIGSTOP) once the first jobs are done, so the
progress figures stand still while the page is compared with the API; the
rest of the night (telemetry with 2 simulated GPUs at 75 °C, persister,
gateway) keeps running. The test:
- loads /, waits for live data (2 GPU cards, the badge says live);
- asserts each GPU card shows the temperature /gpu/stats returns, in the
  warning colour band (75 °C: above 70, below 80), and the progress bar the
  completed/total /api/status returns;
- kills the gateway (SIGKILL); the supervisor restarts it; the page must
  say it is reconnecting and then recover by itself (live again, cards
  updating);
- saves a screenshot (--screenshot FILE copies it, e.g. to docs/).
Then the scheduler continues and the run must end with exit 0.

Usage: gateway_browser_test.py --nightshift BIN [--screenshot FILE]
"""

import argparse
import os
import shutil
import signal
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway_fixture as g  # noqa: E402


def browser(profile_dir):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000",
                 "--user-data-dir=" + profile_dir]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def text(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def cards(driver):
    return {c.get_attribute("data-gpu"): c for c in driver.find_elements(By.CSS_SELECTOR, ".gpu-card")}


def check_page(night, f, driver, shot):
    url = night.url
    driver.get(url + "/")
    live = g.wait_until(lambda: len(cards(driver)) == 2 and text(driver, "conn-status") == "live", 20)
    f.check(live, "page shows 2 GPU cards and is live")
    s, stats, _ = g.http_get(url + "/gpu/stats")
    for gpu in stats["gpus"]:
        card = cards(driver).get("%s/%d" % (gpu["host"], gpu["id"]))
        if not f.check(card is not None, "card for GPU %s/%d" % (gpu["host"], gpu["id"])):
            continue
        temp = card.find_element(By.CSS_SELECTOR, ".temp")
        f.check(temp.text == "%d °C" % round(gpu["temperature"]),
                "card temperature %r is /gpu/stats' %s" % (temp.text, gpu["temperature"]))
        f.check("band-warning" in temp.get_attribute("class"), "75 °C in the warning band: %s" % temp.get_attribute("class"))
        f.check(card.find_element(By.CSS_SELECTOR, ".health").text == gpu["health"]["status"],
                "health badge is /gpu/stats' %s" % gpu["health"]["status"])
    s, status, _ = g.http_get(url + "/api/status")
    g.wait_until(lambda: driver.find_element(By.ID, "progress-bar").get_attribute("data-done") == str(status["completed"]), 5)
    bar = driver.find_element(By.ID, "progress-bar")
    f.check(bar.get_attribute("data-done") == str(status["completed"]) and
            bar.get_attribute("data-total") == str(status["total"]),
            "progress bar %s/%s is /api/status' %s/%s" % (bar.get_attribute("data-done"), bar.get_attribute("data-total"),
                                                           status["completed"], status["total"]))
    f.check(text(driver, "progress-text").startswith("%d of %d jobs" % (status["completed"], status["total"])),
            "progress text: %r" % text(driver, "progress-text"))
    f.check(text(driver, "run-id") == "r1", "run id on the page")
    time.sleep(5)  # let the 60 s charts draw some points
    driver.save_screenshot(shot)
    f.check(os.path.getsize(shot) > 10000, "screenshot saved (%d bytes)" % os.path.getsize(shot))


def check_recovery(night, f, driver, run_pid):
    old = g.child_pid(run_pid, "gateway")
    if not f.check(old is not None, "the run has a gateway child"):
        return
    os.kill(old, signal.SIGKILL)
    down = g.wait_until(lambda: text(driver, "conn-status") != "live", 10, step=0.05)
    f.check(down, "page notices the gateway is gone")
    back = g.wait_until(lambda: text(driver, "conn-status") == "live", 30)
    new = g.child_pid(run_pid, "gateway")
    f.check(back and new is not None and new != old, "supervisor restarted the gateway (%s -> %s) and the page is live again" % (old, new))
    card = list(cards(driver).values())[0]
    before = card.find_element(By.CSS_SELECTOR, ".util").get_attribute("data-value")
    changed = g.wait_until(lambda: card.find_element(By.CSS_SELECTOR, ".util").get_attribute("data-value") != before, 10)
    f.check(changed, "GPU card updates again after the restart")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nightshift", required=True)
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    f = g.Failures()
    night = g.Night(args.nightshift, interval_ms=200, temps="75", trials=200)
    shot = os.path.join(night.dir, "dashboard.png")
    state = {}

    def during_run(n):
        run_pid = None
        g.wait_until(lambda: g.http_get(n.url + "/api/status")[1]["completed"] >= 1, 60, step=0.05)
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/cmdline" % entry, "rb") as c:
                        argv = c.read().split(b"\0")
                    if b"run" in argv and b"r1" in argv and n.config.encode() in argv:
                        run_pid = int(entry)
                except OSError:
                    pass
        scheduler = g.child_pid(run_pid, "scheduler") if run_pid else None
        if not f.check(scheduler is not None, "found the run's scheduler"):
            return
        os.kill(scheduler, signal.SIGSTOP)
        profile = os.path.join(n.dir, "chromium-profile")
        driver = browser(profile)
        try:
            check_page(n, f, driver, shot)
            check_recovery(n, f, driver, run_pid)
        finally:
            driver.quit()
            os.kill(scheduler, signal.SIGCONT)

    try:
        code, out = night.run_night("r1", timeout=120, watch=during_run)
        f.check(code == 0, "run exits 0 after the browser test (got %s): %s" % (code, out[-600:]))
        if args.screenshot and os.path.exists(shot):
            shutil.copyfile(shot, args.screenshot)
    finally:
        night.cleanup(bool(f.items))
        if f.items:
            print("kept", night.dir)
    return f.done()


if __name__ == "__main__":
    sys.exit(main())
