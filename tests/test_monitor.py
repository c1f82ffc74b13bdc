"""The health monitor on constructed logs (each condition fires on the records that show it, and only then),
live in `minimax train`, and `--on-collapse stop`."""
import json
import math

import pytest
import torch

from minimax.cli import main
from minimax.config import TrainConfig
from minimax.games import make_objective
from minimax.run.monitor import WINDOW, HealthMonitor, mean_pairwise_distance

MINIMAX = make_objective(TrainConfig())


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


def test_a_condition_is_reported_once_until_it_clears():
    wins = dict(d_real=0.999, d_fake=0.001, value=-0.01)
    records = [healthy(i, **wins) for i in range(2 * WINDOW)] + [healthy(100)] + \
        [healthy(200 + i, **wins) for i in range(WINDOW)]
    found = run(HealthMonitor(MINIMAX), records)
    assert [f.condition for f in found] == ["discriminator wins", "discriminator wins"]
    assert [f.step for f in found] == [WINDOW - 1, 200 + WINDOW - 1]


def test_collapse_and_oscillation():
    collapsed = [healthy(i, diversity=0.02) for i in range(WINDOW)]
    assert [f.condition for f in run(HealthMonitor(MINIMAX), collapsed)] == ["collapse"]
    calm = [healthy(i, d_fake=0.45 + 0.01 * (i % 2)) for i in range(WINDOW + 1)]
    swinging = [healthy(WINDOW + 1 + i, d_fake=0.1 if i % 2 else 0.9) for i in range(WINDOW)]
    shifted = [healthy(WINDOW + 1 + i, d_fake=0.9) for i in range(WINDOW)]  # one jump, then level: no swing
    assert run(HealthMonitor(MINIMAX), calm + shifted) == []
    assert [f.condition for f in run(HealthMonitor(MINIMAX), calm + swinging)] == ["oscillation"]
    wgan = make_objective(TrainConfig(game="wgan-gp"))  # an unbounded critic: no swing threshold in its units
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
    assert len(records) == 12 and all(r["diversity"] > 0.01 for r in records)  # an untrained G: no finding
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
        assert [e["condition"] for e in events if e.get("event") == "health"] == ["collapse"]
        assert main([*common, "--out", str(tmp_path / "stop"), "--on-collapse", "stop"]) == 4
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("minimax: error: stopped at step 25 (--on-collapse stop): generator collapse")
        assert (tmp_path / "stop" / "checkpoints" / "step-00000025.safetensors").is_file()
    finally:
        mp.undo()


def test_fewer_discriminator_steps_is_advised_only_to_a_run_with_several():
    """A D that wins outright: the remedy names --k only when the run took more than one D step."""
    won = [dict(healthy(100 * i), d_real=0.999, d_fake=0.001, value=-0.002) for i in range(WINDOW)]
    one, four = run(HealthMonitor(MINIMAX, k=1), won), run(HealthMonitor(MINIMAX, k=4), won)
    assert [f.condition for f in one] == [f.condition for f in four] == ["discriminator wins"]
    assert "--k" not in one[0].remedy and "--k 2" in four[0].remedy
