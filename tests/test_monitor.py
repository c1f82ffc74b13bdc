"""The health monitor on constructed logs (each condition fires on the records that show it, and only then),
live in `minimax train`, and `--on-collapse stop`."""
import json
import math

import pytest
import torch

from minimax.cli import main
from minimax.cli.train import final_statistics
from minimax.data.toy import grid, ring
from minimax.games import make_objective
from minimax.run import monitor
from minimax.run.monitor import OFF_DATA, WINDOW, HealthMonitor, Yardstick, mean_pairwise_distance
from minimax.viz.report import verdict

MINIMAX = make_objective("minimax")


def healthy(step, **kw):
    r = dict(step=step, value=-1.3, d_real=0.55, d_fake=0.45, d_loss=1.3, g_grad_norm_saturating=0.4,
             g_grad_norm_non_saturating=0.5, diversity=0.95)
    r.update(kw)
    return r


def run(monitor, records):
    return [f for r in records for f in monitor.update(r)]


def test_healthy_records_raise_nothing():
    assert run(HealthMonitor(MINIMAX, "saturating"), [healthy(100 * i) for i in range(50)]) == []


def test_saturation_needs_the_saturating_loss_and_window_records():
    sat = dict(d_fake=0.01, g_grad_norm_saturating=0.002, g_grad_norm_non_saturating=2.0)
    records = [healthy(100 * i) for i in range(3)] + [healthy(100 * i, **sat) for i in range(3, 3 + WINDOW)]
    found = run(HealthMonitor(MINIMAX, "saturating"), records)
    assert [f.condition for f in found] == ["saturation"] and found[0].step == 100 * (2 + WINDOW)
    assert "0.002" in found[0].measured and "§3" in found[0].explanation and "non-saturating" in found[0].remedy
    assert run(HealthMonitor(MINIMAX, "saturating"), records[:-1]) == []  # one record short of the window
    assert run(HealthMonitor(MINIMAX, "non-saturating"), records) == []  # G does not train on that gradient


def test_a_condition_is_reported_once_until_it_clears_and_its_clearing_is_an_event():
    wins = dict(d_real=0.999, d_fake=0.001, value=-0.01)
    records = [healthy(i, **wins) for i in range(2 * WINDOW)] + [healthy(100)] + \
        [healthy(200 + i, **wins) for i in range(WINDOW)]
    found = run(HealthMonitor(MINIMAX), records)
    assert [(f.condition, f.step, f.cleared) for f in found] == [
        ("discriminator wins", WINDOW - 1, False), ("discriminator wins", 100, True),
        ("discriminator wins", 200 + WINDOW - 1, False)]
    assert found[1].line() == "step 100: discriminator wins cleared: mean D(x) = 0.550, D(G(z)) = 0.45, V̂ = -1.300"
    assert found[1].to_record() == {"step": 100, "event": "health", "condition": "discriminator wins",
                                    "cleared": True, "measured": found[1].measured}


def test_collapse_and_oscillation():
    collapsed = [healthy(i, diversity=0.02) for i in range(WINDOW)]
    assert [f.condition for f in run(HealthMonitor(MINIMAX), collapsed)] == ["collapse"]
    calm = [healthy(i, d_fake=0.45 + 0.01 * (i % 2)) for i in range(WINDOW + 1)]
    swinging = [healthy(WINDOW + 1 + i, d_fake=0.1 if i % 2 else 0.9) for i in range(WINDOW)]
    shifted = [healthy(WINDOW + 1 + i, d_fake=0.9) for i in range(WINDOW)]  # one jump, then level: no swing
    assert run(HealthMonitor(MINIMAX), calm + shifted) == []
    assert [f.condition for f in run(HealthMonitor(MINIMAX), calm + swinging)] == ["oscillation"]
    wgan = make_objective("wgan-gp")  # an unbounded critic: no swing threshold in its units
    assert run(HealthMonitor(wgan), calm + swinging) == []


def test_mean_pairwise_distance_closed_form():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])  # distances 5, 0, 5 (each pair counted twice)
    assert mean_pairwise_distance(x) == pytest.approx(10 / 3)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4000, 1, generator=g, dtype=torch.float64)
    assert mean_pairwise_distance(z) == pytest.approx(2 / math.sqrt(math.pi), rel=0.03)  # E|z − z'|, N(0, 1)


def test_train_logs_diversity_and_findings_and_stops_on_collapse(tmp_path, capsys):
    """A generator squeezed to a point (output layer zeroed, learning rate tiny) is found collapsed; with
    --on-collapse stop the run ends with a checkpoint, a one-line reason and exit status 4."""
    common = ["train", "--steps", "60", "--log-every", "5", "--g-hidden", "16", "--d-hidden", "16",
              "--batch-size", "32", "--device", "cpu", "--no-plots", "--tensorboard", "off", "--lr", "1e-9",
              "--lr-decay", "none"]
    assert main([*common, "--out", str(tmp_path / "ok")]) == 0
    records = [json.loads(line) for line in (tmp_path / "ok" / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in records if "event" not in r]  # an untrained G: not collapsed, but imprecise, off the modes
    assert len(logged) == 12 and all(r["diversity"] > 0.01 for r in logged)
    assert [r["condition"] for r in records if r.get("event") == "health"] == ["mode dropping", "imprecise samples"]
    import minimax.players.mlp as mlp

    original = mlp.MLPGenerator.__init__

    def squeezed(self, *a, **k):
        original(self, *a, **k)
        torch.nn.init.zeros_(self.net[-2].weight)

    mp = pytest.MonkeyPatch()
    mp.setattr(mlp.MLPGenerator, "__init__", squeezed)
    try:
        capsys.readouterr()
        assert main([*common, "--out", str(tmp_path / "warn")]) == 0
        assert "warning: step 25: collapse" in capsys.readouterr().err
        events = [json.loads(line) for line in (tmp_path / "warn" / "metrics.jsonl").read_text().splitlines()]
        assert [e["condition"] for e in events if e.get("event") == "health"][0] == "collapse"
        assert main([*common, "--out", str(tmp_path / "stop"), "--on-collapse", "stop"]) == 4
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("minimax: stopped: at step 50 (--on-collapse stop): generator collapse, "
                                  "reported at step 25")
        assert (tmp_path / "stop" / "checkpoints" / "step-00000050.safetensors").is_file()
        assert f"to train on regardless: minimax train --resume {tmp_path / 'stop'} --on-collapse warn" in err[-1]
        # ... which continues it to the end (the same collapse is now a warning), and the flag is in config.json
        assert main(["train", "--resume", str(tmp_path / "stop"), "--on-collapse", "warn", "--no-plots"]) == 0
        assert json.loads((tmp_path / "stop" / "summary.json").read_text())["step"] == 60
        assert json.loads((tmp_path / "stop" / "config.json").read_text())["on_collapse"] == "warn"
    finally:
        mp.undo()


def test_fewer_discriminator_steps_is_advised_only_to_a_run_with_several():
    """A D that wins outright: the remedy names --k only when the run took more than one D step."""
    won = [dict(healthy(100 * i), d_real=0.999, d_fake=0.001, value=-0.002) for i in range(WINDOW)]
    one, four = run(HealthMonitor(MINIMAX, k=1), won), run(HealthMonitor(MINIMAX, k=4), won)
    assert [f.condition for f in one] == [f.condition for f in four] == ["discriminator wins"]
    assert "--k" not in one[0].remedy and "--k 2" in four[0].remedy


def test_a_generator_leaving_its_one_image_start_is_not_collapsed():
    """The Table 1 recipe's first records (measured: diversity 0.030, 0.036, 0.032, 0.032, 0.080, then 0.14, 0.28):
    low, but rising by more than a quarter of the threshold over the window — no collapse. The same start held
    flat (the saturating run: 3.3% throughout) is one."""
    leaving = [healthy(100 * (i + 1), diversity=d) for i, d in enumerate([0.030, 0.036, 0.032, 0.032, 0.080, 0.14])]
    assert run(HealthMonitor(MINIMAX), leaving) == []
    stuck = [healthy(100 * (i + 1), diversity=0.033 + 0.002 * (i % 2)) for i in range(WINDOW)]
    assert [f.condition for f in run(HealthMonitor(MINIMAX), stuck)] == ["collapse"]


def test_collapse_persists_after_window_more_records_and_clears_with_an_event():
    monitor = HealthMonitor(MINIMAX)
    run(monitor, [healthy(i, diversity=0.02) for i in range(WINDOW)])
    assert "collapse" in monitor.active and not monitor.persistent("collapse")
    run(monitor, [healthy(WINDOW + i, diversity=0.02) for i in range(WINDOW - 1)])
    assert not monitor.persistent("collapse")
    run(monitor, [healthy(2 * WINDOW, diversity=0.02)])
    assert monitor.persistent("collapse")  # 2·WINDOW records in all
    cleared = run(monitor, [healthy(100, diversity=0.5)])
    assert [(f.condition, f.cleared) for f in cleared] == [("collapse", True)] and "50.0%" in cleared[0].measured


@pytest.mark.parametrize("data", [ring(), grid()], ids=["ring", "grid"])
def test_off_the_data_is_zero_on_data_samples_and_one_far_from_them(data):
    """The share of samples farther from every anchor than the data's spread: data samples from another
    stream are never that far (the spread is the mean pairwise distance, far above a nearest-neighbour
    distance); samples moved 100 units (the f-kl grid run) or non-finite ones all are; half moved, half."""
    y = Yardstick(data)
    assert y.spread == pytest.approx(mean_pairwise_distance(data.sample(256, torch.Generator().manual_seed(104729))))
    x = data.sample(256, torch.Generator().manual_seed(1))
    assert y.off_data(x) == 0.0
    assert y.off_data(x + 100.0) == 1.0
    assert y.off_data(torch.full_like(x, float("nan"))) == 1.0
    assert y.off_data(torch.cat([x[:128], x[128:] + 100.0])) == 0.5
    off = [healthy(100 * i, off_data=0.97) for i in range(WINDOW)]
    found = run(HealthMonitor(MINIMAX), off)
    assert [f.condition for f in found] == ["off the data"] and "97.0%" in found[0].measured
    assert run(HealthMonitor(MINIMAX), [healthy(100 * i, off_data=OFF_DATA) for i in range(WINDOW)]) == []


def test_the_report_says_which_conditions_cleared():
    """A collapse reported at step 5 and cleared at 100: the verdict says so, not in red."""
    records = [healthy(i + 1, diversity=0.02) for i in range(WINDOW)] + [healthy(100, diversity=0.6)]
    html = verdict(records, MINIMAX, "non-saturating", {})
    assert "collapse</b> (step 5, cleared at step 100)" in html and "all cleared" in html
    assert 'class="note"' in html and 'class="bad"' not in html
    html = verdict(records[:-1], MINIMAX, "non-saturating", {})
    assert "still held at the end" in html and 'class="bad"' in html


def test_a_negative_critic_value_is_explained():
    """wgan-gp's V̂ is the critic's lower bound on W1 ≥ 0: a negative one says so; minimax's V̂ (≤ 0) does not."""
    wgan = make_objective("wgan-gp")
    line = final_statistics({"final_value": -0.2, "final_d_real": 0.1, "final_d_fake": 0.3}, wgan)
    assert "lower bound on W1 ≥ 0" in line
    assert "lower bound" not in final_statistics({"final_value": 0.2, "final_d_real": 0.3}, wgan)
    assert "lower bound" not in final_statistics({"final_value": -1.3, "final_d_real": 0.5}, MINIMAX)


def test_discriminator_wins_at_a_tenth_of_log_4():
    """D's loss −V̂ below log(4)/10: the frozen-G corpus run (V̂ ≈ −0.11, D(x) 0.97) is a win; the Table 1
    recipe's D, confident but not winning (V̂ ≈ −0.26, D(x) 0.92), is not."""
    frozen = [healthy(100 * i, d_real=0.97, d_fake=0.03, value=-0.11) for i in range(WINDOW)]
    table1 = [healthy(100 * i, d_real=0.92, d_fake=0.075, value=-0.26) for i in range(3 * WINDOW)]
    assert [f.condition for f in run(HealthMonitor(MINIMAX), frozen)] == ["discriminator wins"]
    assert run(HealthMonitor(MINIMAX), table1) == []


def test_samples_outside_the_frame_are_counted_on_the_panel(tmp_path):
    """The f-kl grid run's samples sit ~100 units from the data: the 2-D panels drew nothing and said nothing.
    Now the panel says how many samples it cannot show (non-finite ones included)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from minimax.viz.plots import note_outside, plot_samples_2d

    x = np.array([[0.0, 0.0], [100.0, 3.0], [np.nan, 0.0], [0.5, -0.5]])
    fig, ax = plt.subplots()
    assert note_outside(ax, x, (-1, -1), (1, 1)) == 2
    assert [t.get_text() for t in ax.texts] == ["2 of 4 samples outside the frame"]
    assert note_outside(ax, x[[0, 3]], (-1, -1), (1, 1)) == 0 and len(ax.texts) == 1
    plt.close(fig)
    plot_samples_2d([(0, x.astype(np.float32))], grid(), tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 0


@pytest.mark.parametrize("data", [ring(), grid()], ids=["ring", "grid"])
def test_modes_and_precision_against_the_data_s_own(data):
    """Relative to the data's own draws: another draw scores ≈ 1 on everything and covers every mode; samples from
    half the modes keep precision and cover half the modes; samples spread uniformly over the data's box lose
    precision (they lie between the modes) and their large balls inflate recall; non-finite samples are in no
    ball, near no mode."""
    y = Yardstick(data)
    assert y.data_modes == len(data.centres)
    assert all(0.6 < y.itself[key] <= 1.2 for key in ("precision", "recall", "density", "coverage"))
    x = data.sample(256, torch.Generator().manual_seed(1))
    same = y.against_the_data(x)
    assert all(same[key] == pytest.approx(1, abs=0.15) for key in ("precision", "recall", "density", "coverage"))
    assert y.modes_covered(data.sample(2500, torch.Generator().manual_seed(2))) == 1
    half = data.centres[torch.arange(2500) % (len(data.centres) // 2)] + data.std * torch.randn(2500, 2)
    assert y.against_the_data(half[:256])["precision"] > 0.8
    assert y.modes_covered(half) == (len(data.centres) // 2) / len(data.centres)
    lo, hi = data.centres.min(0).values - 3 * data.std, data.centres.max(0).values + 3 * data.std
    blur = y.against_the_data(lo + (hi - lo) * torch.rand(256, 2, generator=torch.Generator().manual_seed(2)))
    assert blur["precision"] < 0.2 and blur["recall"] > 0.8
    assert set(y.against_the_data(torch.full_like(x, float("nan"))).values()) == {0.0}
    assert y.modes_covered(torch.full_like(x, float("inf"))) == 0


def test_images_are_not_judged_against_the_data_in_pixels(tmp_path):
    """Without known modes (images), neither statistic is logged nor judged: pixel distances would not say it."""
    from test_image_data import write_mnist

    from minimax.config import TrainConfig
    from minimax.data import load_dataset

    y = Yardstick(load_dataset(TrainConfig(dataset="mnist", data_dir=str(write_mnist(tmp_path / "m")))))
    assert y.modes is None and not hasattr(y, "itself")


def test_mode_dropping_and_imprecise_samples_are_judged_late():
    """Fewer modes than the data's own draw (or low precision) for WINDOW records is a finding only from
    JUDGED_FROM of the run's steps on: before, a healthy run's samples are still finding the data."""
    start = int(monitor.JUDGED_FROM * 1000)
    early = [healthy(start - 100 * WINDOW + 10 * i, precision=0.9, modes_covered=0.5) for i in range(WINDOW)]
    assert run(HealthMonitor(MINIMAX, steps=1000), early) == []
    low = monitor.LOW_PRECISION - 0.01
    found = run(HealthMonitor(MINIMAX, steps=1000), [healthy(start + 10 * i, precision=low, modes_covered=1.0)
                                                     for i in range(WINDOW)])
    assert [f.condition for f in found] == ["imprecise samples"] and f"precision {low:.2f}" in found[0].measured
    dropped = [healthy(start + 10 * i, precision=0.9, modes_covered=0.625) for i in range(WINDOW)]
    found = run(HealthMonitor(make_objective("wgan-gp"), steps=1000), dropped)
    assert [f.condition for f in found] == ["mode dropping"] and "2500 of G's samples" in found[0].measured \
        and "cover 62%" in found[0].measured
    at_bounds = [healthy(start + 10 * i, precision=monitor.LOW_PRECISION, modes_covered=1.0) for i in range(WINDOW)]
    assert run(HealthMonitor(MINIMAX, steps=1000), at_bounds) == []
