"""The screenshots of ``minimax watch`` and ``minimax train --live`` in docs/howto.md: the default ring run trains in
the background, the page follows it, and headless Chromium (Debian's chromium and chromium-driver, selenium)
photographs it once the run has passed STEP iterations and drawn a snapshot there (docs/watch.png); with ``--live``
the run serves the page itself, which pauses it at STEP and presses "one D step" ten times (docs/live.png).

    python docs/gen_watch_screenshot.py [--step 3000] [--live]
"""
from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from minimax.viz import watch

OUT = Path(__file__).resolve().parent / "watch.png"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--step", type=int, default=3000)
    p.add_argument("--live", action="store_true")
    args = p.parse_args()
    if args.live:
        return live(args.step)
    run = Path(tempfile.mkdtemp()) / "ring"
    trainer = subprocess.Popen([sys.executable, "-m", "minimax", "train", "--out", str(run), "--snapshots", "100",
                                "--progress", "off", "--no-plots", "--tensorboard", "off"])
    while not (run / "config.json").is_file():
        time.sleep(0.2)
    server = watch.serve(run, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = chromium()
    try:
        driver.get(server.url)
        while True:
            state = server.run.state()
            if state["snapshots"] and state["snapshots"][-1] >= args.step:
                break
            time.sleep(0.5)
        time.sleep(3)  # the page's next poll, and the frame's drawing
        driver.save_screenshot(str(OUT))
    finally:
        driver.quit()
        trainer.send_signal(signal.SIGTERM)
        trainer.wait()
    print(f"wrote {OUT}")


def chromium(height: int = 1250):
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size=1300,{height}"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


def live(step: int) -> None:
    out = OUT.with_name("live.png")
    run = Path(tempfile.mkdtemp()) / "ring"
    trainer = subprocess.Popen([sys.executable, "-m", "minimax", "train", "--out", str(run), "--progress", "off",
                                "--no-plots", "--tensorboard", "off", "--live", "--port", "0", "--log-every", "50"],
                               stderr=subprocess.PIPE, text=True)
    url = trainer.stderr.readline().split()[1]  # "live: http://127.0.0.1:PORT/ (...)"
    driver = chromium(1350)

    def shown(element: str) -> str:
        return driver.execute_script(f"return document.getElementById('{element}').textContent")

    try:
        driver.get(url)
        while not (shown("step").isdigit() and int(shown("step")) >= step):
            time.sleep(0.02)
        driver.find_element("id", "pause").click()
        while shown("status") != "paused":
            time.sleep(0.1)
        paused_at = shown("step")
        for i in range(10):
            driver.find_element("id", "d_step").click()
            while shown("events").count("d_step") <= i:
                time.sleep(0.1)
        time.sleep(4)  # the page's next poll, and the frame's drawing
        driver.save_screenshot(str(out))
    finally:
        driver.quit()
        trainer.send_signal(signal.SIGTERM)
        trainer.wait()
    print(f"wrote {out} (paused at step {paused_at})")


if __name__ == "__main__":
    main()
