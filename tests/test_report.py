"""The HTML report: self-contained, and rendered by a real headless Chromium without console errors."""
import re
import shutil

import pytest

from minimax.cli import main
from minimax.viz.report import write_report

TINY = ["--steps", "40", "--batch-size", "32", "--g-hidden", "16", "--d-hidden", "16", "--latent-dim", "4",
        "--log-every", "5", "--checkpoint-every", "20", "--eval-samples", "200", "--device", "cpu", "--no-plots",
        "--snapshots", "5"]  # (5 frames in each replay: the frames are the report's costliest part)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    out = []
    for name, extra in (("ring", []), ("gauss", ["--dataset", "gauss1d", "--g-loss", "saturating"])):
        assert main(["train", "--out", str(base / name), *TINY, *extra]) == 0
        out.append(base / name)
    return out


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    """The two runs' report, written once for the module's tests (read, rendered, played)."""
    return write_report(runs, tmp_path_factory.mktemp("report") / "report.html")


def test_report_is_self_contained(runs, report):
    page = report.read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) >= 2 * 6 + 1  # six figures per run (curves, saturation, D vs D*, samples) + overlay
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert len(re.findall(r'src="(data:image/png;base64,[^"]+)"', page)) >= len(images) + 2  # + each replay's frame
    assert "http://" not in page and "https://" not in page and "<script src" not in page
    for needle in ("−log 4", "D(G(z))", "trained D beside the optimal D*", "saturation picture", "high-quality samples",
                   "Figure 1 of Goodfellow et al. (2014) from this run"):
        assert needle in page
    # the order a reader asks in: the verdict, the replay, the curves; the config folded away
    for run in runs:
        body = page[page.index(f"<h2>{run}</h2>"):]
        assert body.index("<h3>verdict</h3>") < body.index("<h3>replay</h3>") < body.index("<h3>curves</h3>") \
            < body.index("<details><summary>config")


def test_report_of_an_image_run_embeds_sample_grids(tmp_path):
    from test_image_data import tiny_dcgan_run

    run = tiny_dcgan_run(tmp_path, "--snapshots", "2")
    page = write_report([run], tmp_path / "r.html").read_text()
    assert "samples at step 2" in page and "steps = [0, 2]" in page  # the replay's frames
    assert "real training images" in page  # beside the samples, from the run's data card
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 4 + 2  # curves, samples, real images
    # a run of 3 records: the monitor needs 5 in a row, and the verdict says it could not judge
    assert "could not judge this run" in page and "found nothing wrong" not in page


def test_a_report_stays_small_and_a_comparison_never_replaces_a_runs_report(runs, tmp_path, monkeypatch):
    """At most REPLAY_FRAMES frames (evenly spaced, the first and last kept; 4 here instead of 16, so that the test
    draws fewer), charts on a 256-colour palette; a report of several runs goes to a file of its own beside the
    first run."""
    from minimax.viz import report

    monkeypatch.setattr(report, "REPLAY_FRAMES", 4)
    REPLAY_FRAMES = report.REPLAY_FRAMES
    run = tmp_path / "many"
    assert main(["train", "--out", str(run), *TINY, "--snapshots", "9"]) == 0
    page = write_report([run]).read_text()
    steps = re.search(r"steps = \[([0-9, ]+)\]", page).group(1).split(", ")
    assert len(steps) == REPLAY_FRAMES and steps[0] == "0" and steps[-1] == "40"
    assert len(page) < 1_000_000, len(page)
    first = (run / "report.html").read_bytes()
    assert main(["report", str(run), str(runs[0])]) == 0
    assert (run / "report.html").read_bytes() == first  # untouched
    assert (tmp_path / f"report-many+{runs[0].name}.html").is_file()
    # the summary in words: the last statistics by their names, no raw keys outside the folded config
    summary = page[page.index("<h3>summary</h3>"):page.index("<details><summary>config")]
    assert "It ended at step 40; its last statistics: V = " in summary and "final_" not in summary


def test_the_frames_of_a_replay_take_the_first_frames_margins(runs):
    """The first frame fits its margins to its labels (tight layout) and hands them on; a later frame drawn with
    them has the same size and differs from the first only where the game moved."""
    import io

    from PIL import Image

    from minimax.data import load_dataset
    from minimax.games import make_objective
    from minimax.run.rundir import load_run_config
    from minimax.run.runlog import game_records
    from minimax.run.snapshots import load_fields
    from minimax.viz import plots

    run = runs[0]
    cfg, records = load_run_config(run), game_records(run)
    objective, data, fields = make_objective(cfg.game, **cfg.game_options), load_dataset(cfg), load_fields(run)
    (first, x0), *_, (last, x1) = plots.load_snapshots(run)
    layout = {}
    a = plots.replay_frame(first, x0, fields.get(first), records, data, objective, layout=layout)
    assert set(layout) == {"left", "right", "bottom", "top", "wspace", "hspace"}
    assert 0 < layout["left"] < layout["right"] <= 1 and 0 <= layout["bottom"] < layout["top"] <= 1
    kept = dict(layout)
    b = plots.replay_frame(last, x1, fields.get(last), records, data, objective, layout=layout)
    assert layout == kept and a != b
    assert Image.open(io.BytesIO(a)).size == Image.open(io.BytesIO(b)).size == (720, 288)  # 10 × 4 in at 72 dpi


def test_report_cli_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "is not a minimax run directory" in capsys.readouterr().err


def _chrome():
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1300,1000"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


@pytest.mark.slow  # (several processes or a browser: the full suite)
def test_report_renders_in_headless_chromium(report, tmp_path):
    driver = _chrome()
    try:
        driver.get(report.resolve().as_uri())
        state = driver.execute_script("""
            const imgs = Array.from(document.images);
            return {n: imgs.length,
                    decoded: imgs.filter(i => i.complete && i.naturalWidth > 100 && i.naturalHeight > 100).length,
                    title: document.title,
                    sections: document.querySelectorAll('section').length};""")
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        driver.save_screenshot(str(tmp_path / "report.png"))
    finally:
        driver.quit()
    assert state["title"] == "minimax report" and state["sections"] == 2
    assert state["n"] >= 13 and state["decoded"] == state["n"], state
    assert errors == []


@pytest.mark.slow  # (several processes or a browser: the full suite)
def test_replay_slider_and_play_button_change_the_frame(report, tmp_path):
    """The headless browser moves the (first run's) replay's slider and presses play: the frame and its step
    change."""
    driver = _chrome()
    try:
        driver.get(report.resolve().as_uri())
        read = "const r = document.querySelector('.replay'); return [r.querySelector('.replay-frame').src, " \
               "r.querySelector('.replay-step').textContent, r.querySelector('.replay-slider').value, " \
               "r.querySelector('.replay-slider').max];"
        last_src, last_label, last_value, top = driver.execute_script(read)
        driver.execute_script("const s = document.querySelector('.replay-slider'); s.value = 0; "
                              "s.dispatchEvent(new Event('input'));")
        first_src, first_label, first_value, _ = driver.execute_script(read)
        driver.find_element("css selector", ".replay-play").click()
        driver.implicitly_wait(0)
        import time

        time.sleep(1.5)  # the player advances one frame every 0.6 s
        played_src, played_label, played_value, _ = driver.execute_script(read)
        driver.save_screenshot(str(tmp_path / "replay.png"))
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    finally:
        driver.quit()
    assert int(top) >= 2 and last_value == top and first_value == "0"
    assert first_src != last_src and first_label == "step 0" and last_label == "step 40"
    assert int(played_value) >= 1 and played_src != first_src and played_label != "step 0"
    assert errors == []


def test_tensorboard_scalars_match_the_metrics_log(runs, tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from minimax.run.runlog import read_metrics

    acc = EventAccumulator(str(runs[0] / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"game/V", "game/V_real_term E[log D(x)]", "game/V_fake_term E[log(1-D(G(z)))]", "loss/D", "loss/G",
            "loss/total", "D/mean D(x)", "D/mean D(G(z))", "G_grad_norm/saturating",
            "G_grad_norm/non_saturating"} <= tags
    records = [r for r in read_metrics(runs[0] / "metrics.jsonl") if "value" in r]
    v = acc.Scalars("game/V")
    assert [e.step for e in v] == [r["step"] for r in records]
    assert [e.value for e in v] == pytest.approx([r["value"] for r in records], rel=1e-6)
    # V = E log D(x) + E log(1 - D(G(z)))
    for r in records:
        assert r["value"] == pytest.approx(r["value_real"] + r["value_fake"], abs=1e-6)
    assert acc.Tags()["images"]  # sample scatter at the snapshots


def test_tensorboard_off_by_flag(tmp_path):
    assert main(["train", "--out", str(tmp_path / "r"), *TINY, "--tensorboard", "off"]) == 0
    assert not (tmp_path / "r" / "tensorboard").exists()


def test_the_overlay_gives_each_game_its_own_axes():
    """Runs of different games are not drawn on one axis (hinge's L_D beside the 2014 game's V̂): one row of
    panels per game, runs of one game together."""
    import base64
    import io

    from PIL import Image

    from minimax.games import make_objective
    from minimax.viz.figures import overlay_figure

    records = [{"step": s, "value": -1.3, "d_loss": 1.0, "d_fake": 0.5} for s in (5, 10, 15)]
    minimax_game, hinge = make_objective("minimax"), make_objective("hinge")

    def height(uri):
        return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).size[1]

    same = overlay_figure([("a", records, minimax_game), ("b", records, minimax_game)])
    mixed = overlay_figure([("a", records, minimax_game), ("h", records, hinge)])
    assert height(mixed) > 1.8 * height(same)


def test_the_conditional_d_star_panels_titles_do_not_overlap():
    """The conditional game's D* title (its definition, with p(x|0)) is wider than its 5-inch panel on one line."""
    import numpy as np
    from matplotlib import pyplot as plt

    from minimax.viz.figures import _log_odds, map_panels

    star = "$D^*(x, 0) = p_{data}(x|0)/(p_{data}(x|0) + \\hat p_g(x|0))$"
    g = np.linspace(0, 1, 9)
    gx, gy = np.meshgrid(g, g)
    z = np.full(gx.size, 0.5)
    shown, lo, hi = _log_odds([(z, "trained $D(x, 0)$"), (z, star)])
    fig = map_panels(shown, gx, gy, np.zeros((1, 2)), lo, hi)
    fig.canvas.draw()
    boxes = [a.title.get_window_extent() for a in fig.axes[:3]]
    width = fig.bbox.width
    assert all(0 <= b.x0 and b.x1 <= width for b in boxes)
    assert all(boxes[i].x1 < boxes[i + 1].x0 for i in range(2))
    plt.close(fig)
