"""The weight average of G given as a half-life in images (StyleGAN2-ADA's ema_kimg and ema_rampup): β_t =
0.5^(m/h_t), h_t = min(h, r·t·m), checked against the closed form, in a run, and refused beside g_ema."""
import pytest
import torch
from test_game import small

from minimax.algorithm.averaging import WeightAverage
from minimax.config import TrainConfig
from minimax.errors import MinimaxError
from minimax.run.setup import build_trainer


def test_the_weight_is_half_of_the_average_per_half_life_with_stylegan2_adas_ramp():
    avg = WeightAverage(torch.nn.Linear(2, 2), 0.0, half_life=10_000, images_per_step=64)
    for t in (1, 100, 10_000):
        assert avg.weight(t) == pytest.approx(1 - 0.5 ** (64 / 10_000))  # no ramp: the same every step
    # after h/m steps the initial weights keep half of their share: Π β = 0.5^(m·(h/m)/h)
    assert (1 - avg.weight(1)) ** (10_000 / 64) == pytest.approx(0.5)
    ramped = WeightAverage(torch.nn.Linear(2, 2), 0.0, half_life=10_000, rampup=0.05, images_per_step=64)
    assert ramped.weight(10) == pytest.approx(1 - 0.5 ** (64 / (0.05 * 10 * 64)))  # h_t = r·t·m = 32 images
    assert ramped.weight(10_000) == pytest.approx(avg.weight(10_000))  # ramp over: h_t = h


def test_a_run_keeps_the_average_the_half_life_gives():
    game = build_trainer(small(g_ema_kimg=0.5, g_ema_rampup=0.05))
    assert game.G_average is not None and game.G_average.images_per_step == game.cfg.batch_size
    before = [p.clone() for p in game.G_average.module.parameters()]
    game.iteration()
    w = game.G_average.weight(1)
    for b, avg, g in zip(before, game.G_average.module.parameters(), game.G.parameters()):
        torch.testing.assert_close(avg, b + w * (g - b))


@pytest.mark.parametrize("settings,needle", [
    (dict(g_ema=0.99, g_ema_kimg=10.0), "g_ema and g_ema_kimg are two ways"),
    (dict(g_ema_rampup=0.05), "g_ema_rampup ramps the half-life of g_ema_kimg"),
    (dict(g_ema_kimg=-1.0), "g_ema_kimg must be >= 0"),
])
def test_settings_that_cannot_both_hold_are_refused(settings, needle):
    with pytest.raises(MinimaxError, match=needle):
        TrainConfig.resolve(**settings)
