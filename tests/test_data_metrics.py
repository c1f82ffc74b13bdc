"""Built-in data with known densities, and the mode-coverage metrics, against their definitions."""
import math

import pytest
import torch

from minimax.data.toy import gauss1d, grid, ring
from minimax.metrics.modes import mode_metrics


def test_ring_and_grid_geometry():
    r = ring()
    angles = torch.atan2(r.centres[:, 1], r.centres[:, 0])
    assert torch.allclose(r.centres.norm(dim=1), torch.ones(8))
    assert torch.allclose(torch.sort(torch.remainder(angles, 2 * math.pi)).values,
                          2 * math.pi * torch.arange(8) / 8, atol=1e-6)
    assert r.std == 0.01
    g = grid()
    assert len(g.centres) == 25 and g.std == 0.05
    assert set(g.centres[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}


@pytest.mark.parametrize("make", [ring, grid, gauss1d])
def test_samples_follow_the_mixture(make):
    data = make()
    x = data.sample(40_000, torch.Generator().manual_seed(0))
    d, k = torch.cdist(x, data.centres).min(dim=1)
    counts = torch.bincount(k, minlength=len(data.centres)).float()
    assert torch.allclose(counts / len(x), torch.full_like(counts, 1 / len(counts)), atol=0.015)
    # distance to the centre in d dims: E‖ε‖² = d σ²
    assert (d**2).mean().item() == pytest.approx(data.dim * data.std**2, rel=0.05)


def test_log_prob_is_normalised_and_matches_single_gaussian():
    g1 = gauss1d()
    x = torch.linspace(-2, 6, 20001).reshape(-1, 1)
    assert torch.trapezoid(g1.log_prob(x).exp(), x[:, 0]).item() == pytest.approx(1.0, abs=1e-6)
    ref = torch.distributions.Normal(2.0, 0.5).log_prob(x[:, 0])
    assert torch.allclose(g1.log_prob(x), ref, atol=1e-5)
    r = ring()
    at_centre = r.log_prob(r.centres[:1])
    assert at_centre.item() == pytest.approx(-math.log(8) - math.log(2 * math.pi * 0.01**2), abs=1e-4)


def test_perfect_samples_score_perfectly():
    data = ring()
    x = data.sample(2500, torch.Generator().manual_seed(0))
    m = mode_metrics(x, data.centres, data.std)
    assert m["modes"] == 8 and m["n_modes"] == 8
    assert m["high_quality"] > 0.98  # P(‖ε‖ ≤ 3σ) in 2-D = 1 - e^{-4.5} ≈ 0.989
    assert m["reverse_kl"] < 0.01


def test_collapsed_samples_score_as_one_mode():
    data = ring()
    x = data.centres[3].repeat(100, 1)
    m = mode_metrics(x, data.centres, data.std)
    assert m == {"high_quality": 1.0, "modes": 1, "n_modes": 8, "reverse_kl": pytest.approx(math.log(8))}


def test_high_quality_threshold_is_three_std():
    data = ring()
    c = data.centres[0]
    inside = c + torch.tensor([2.9 * data.std, 0.0])
    outside = c + torch.tensor([3.1 * data.std, 0.0])
    m = mode_metrics(torch.stack([inside, outside]), data.centres, data.std)
    assert m["high_quality"] == 0.5 and m["modes"] == 1


def test_reverse_kl_of_a_two_mode_split():
    data = ring()
    x = torch.cat([data.centres[0].repeat(30, 1), data.centres[1].repeat(10, 1)])
    q = torch.tensor([0.75, 0.25])
    expected = float((q * (q * 8).log()).sum())
    assert mode_metrics(x, data.centres, data.std)["reverse_kl"] == pytest.approx(expected)


def test_no_high_quality_samples():
    data = ring()
    m = mode_metrics(torch.zeros(10, 2), data.centres, data.std)
    assert m["high_quality"] == 0 and m["modes"] == 0 and m["reverse_kl"] == math.inf


def test_mode_metrics_rejects_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        mode_metrics(torch.zeros(10, 3), ring().centres, 0.01)
