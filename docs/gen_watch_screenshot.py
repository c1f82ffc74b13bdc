"""The screenshot of ``minimax watch`` in docs/howto.md (docs/watch.png): the default ring run trains in the
background, the page follows it, and headless Chromium (Debian's chromium and chromium-driver, selenium) photographs
it once the run has passed STEP iterations and drawn a snapshot there.

    python docs/gen_watch_screenshot.py [--step 3000]
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
    args = p.parse_args()
    run = Path(tempfile.mkdtemp()) / "ring"
    trainer = subprocess.Popen([sys.executable, "-m", "minimax", "train", "--out", str(run), "--snapshots", "100",
                                "--progress", "off", "--no-plots", "--tensorboard", "off"])
    while not (run / "config.json").is_file():
        time.sleep(0.2)
    server = watch.serve(run, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,1250"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
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


if __name__ == "__main__":
    main()
