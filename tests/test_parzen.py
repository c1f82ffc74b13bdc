"""The Parzen-window estimator of Table 1 against closed forms."""
import math

import pytest
import torch

from minimax.metrics.parzen import PAPER_SIGMAS, parzen_evaluate, parzen_log_likelihood, select_sigma


def test_paper_sigma_grid():
    assert len(PAPER_SIGMAS) == 10
    assert PAPER_SIGMAS[0] == pytest.approx(0.1) and PAPER_SIGMAS[-1] == pytest.approx(1.0)


def test_single_kernel_is_a_gaussian_log_density():
    g = torch.Generator().manual_seed(0)
    s, x = torch.randn(1, 5, generator=g), torch.randn(7, 5, generator=g)
    for sigma in (0.3, 1.7):
        ref = torch.distributions.Normal(s[0].double(), sigma).log_prob(x.double()).sum(1)
        assert torch.allclose(parzen_log_likelihood(s, x, [sigma])[0], ref, atol=1e-4)


def test_mixture_of_kernels_and_chunking():
    g = torch.Generator().manual_seed(1)
    s, x = torch.rand(50, 3, generator=g), torch.rand(23, 3, generator=g)
    sigma = 0.2
    comps = torch.distributions.Normal(s.double()[None], sigma).log_prob(x.double()[:, None]).sum(2)
    ref = torch.logsumexp(comps, 1) - math.log(50)
    assert torch.allclose(parzen_log_likelihood(s, x, [sigma], chunk=4)[0], ref, atol=1e-4)
    assert torch.allclose(parzen_log_likelihood(s, x, [sigma], chunk=4), parzen_log_likelihood(s, x, [sigma]))


def test_finite_for_far_points_and_tiny_sigma():
    s, x = torch.zeros(3, 784), torch.ones(2, 784)
    ll = parzen_log_likelihood(s, x, [1e-3])
    assert torch.isfinite(ll).all() and (ll < -1e5).all()


def test_sigma_selection_recovers_the_generating_scale():
    g = torch.Generator().manual_seed(2)
    centres = torch.rand(20, 4, generator=g) * 10

    def draw(n):
        return centres[torch.randint(20, (n,), generator=g)] + 0.3 * torch.randn(n, 4, generator=g)

    sigma, scores = select_sigma(draw(4000), draw(500), [0.03, 0.1, 0.3, 1.0, 3.0])
    assert sigma in (0.3, 0.1) and scores[3] < max(scores) and scores[0] < max(scores)
    r = parzen_evaluate(draw(4000), draw(500), draw(400), [0.1, 0.3, 1.0])
    assert r["n_test"] == 400 and r["parzen_se"] > 0 and math.isfinite(r["parzen_ll"])


def test_one_kernel_density_formula_for_mixtures_parzen_and_the_report():
    """density.gaussian_mixture_log_density against torch.distributions, for one width and several."""
    from minimax.data.density import gaussian_mixture_log_density, kernel_density

    torch.manual_seed(0)
    centres, x = torch.randn(7, 3, dtype=torch.float64), torch.randn(11, 3, dtype=torch.float64)
    for sigma in (0.3, 1.7):
        comp = torch.distributions.Normal(centres[None], sigma)  # [1, 7, 3]
        expected = torch.logsumexp(comp.log_prob(x[:, None]).sum(-1), 1) - math.log(7)
        assert torch.allclose(kernel_density(centres, x, sigma), expected, atol=1e-10)
    sq = torch.cdist(x, centres).pow(2)
    sigmas = torch.tensor([0.3, 1.7], dtype=torch.float64).reshape(-1, 1, 1)
    both = gaussian_mixture_log_density(sq[None], sigmas, 3)
    assert both.shape == (2, 11)
    assert torch.allclose(both[1], kernel_density(centres, x, 1.7), atol=1e-10)
