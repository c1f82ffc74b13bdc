"""The least-squares and hinge games, checked like §4 of the 2014 paper: the closed-form D* by
quadrature gives the stated divergence, D* is the pointwise minimiser, and a discriminator trained with
the game's own loss approaches D*."""
import pytest
import torch

from minimax.data.toy import GaussianMixture
from minimax.games import HingeGame, LeastSquaresGame
from minimax.games.hinge import total_variation
from minimax.games.least_squares import pearson_chi2_of_sum
from minimax.players import MLPDiscriminator

P_DATA = GaussianMixture("data", torch.tensor([[0.0]]), 1.0)
P_G = GaussianMixture("g", torch.tensor([[1.0]]), 1.3)
X = torch.linspace(-15, 15, 200001, dtype=torch.float64)


def densities(x):
    x = x.reshape(-1, 1)
    return P_DATA.log_prob(x).double().exp(), P_G.log_prob(x).double().exp()


def trained_scores(loss_fn, lo, hi, n):
    """D(x) of a discriminator trained with ``loss_fn``, and the two densities, on n points of [lo, hi]."""
    D = train_discriminator(loss_fn)
    x = torch.linspace(lo, hi, n).reshape(-1, 1)
    with torch.no_grad():
        return D(x).double(), *densities(x)


def train_discriminator(loss_fn, steps=1500):
    """Minimise the game's L_D over D alone (G fixed), the inner problem of the game."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    D = MLPDiscriminator((1,), hidden=(64, 64), activation="tanh")
    opt = torch.optim.Adam(D.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.LinearLR(opt, 1.0, 0.05, total_iters=steps)
    for _ in range(steps):
        loss = loss_fn(D(P_DATA.sample(2048, g)), D(P_G.sample(2048, g)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return D.eval()


# --- least squares (Mao et al. 2017) -----------------------------------------------------------
def test_least_squares_d_star_gives_the_pearson_chi2_divergence():
    pd, pg = densities(X)
    game = LeastSquaresGame()  # a = -1, b = 1, c = 0: b - c = 1, b - a = 2
    two_c = game.generator_criterion(pd, pg, X)
    assert two_c == pytest.approx(pearson_chi2_of_sum(pd, pg, X), abs=1e-6)
    assert two_c > 0.05  # the two densities differ
    assert game.generator_criterion(pd, pd, X) == pytest.approx(0.0, abs=1e-12)  # p_g = p_data


@pytest.mark.parametrize("a,b", [(-1.0, 1.0), (0.0, 1.0)])
def test_least_squares_d_star_minimises_the_expected_discriminator_loss(a, b):
    pd, pg = densities(X)
    game = LeastSquaresGame(a=a, b=b)

    def expected_loss(d):
        return float(torch.trapezoid(0.5 * pd * (d - b) ** 2 + 0.5 * pg * (d - a) ** 2, X))

    d_star = game.optimal_discriminator(pd, pg)
    best = expected_loss(d_star)
    for bump in (0.05, -0.05, 0.3 * torch.sin(X)):
        assert expected_loss(d_star + bump) > best


def test_a_discriminator_trained_with_the_least_squares_loss_approaches_d_star():
    game = LeastSquaresGame()
    d, pd, pg = trained_scores(game.discriminator_loss, -2, 2, 81)
    assert (d - game.optimal_discriminator(pd, pg)).abs().max() <= 0.1


# --- hinge (Lim & Ye 2017; Miyato et al. 2018) --------------------------------------------------
def test_hinge_d_star_gives_two_minus_twice_the_total_variation():
    pd, pg = densities(X)
    game = HingeGame()
    d_star = game.optimal_discriminator(pd, pg)
    tv = total_variation(pd, pg, X)
    assert game.expected_discriminator_loss(d_star, pd, pg, X) == pytest.approx(2 - 2 * tv, abs=1e-6)
    assert 0.1 < tv < 1
    assert game.expected_discriminator_loss(torch.zeros_like(X), pd, pd, X) == pytest.approx(2.0, abs=1e-6)


def test_hinge_d_star_is_the_minimiser_over_bounded_and_unbounded_scores():
    pd, pg = densities(X)
    game = HingeGame()
    best = game.expected_discriminator_loss(game.optimal_discriminator(pd, pg), pd, pg, X)
    torch.manual_seed(0)
    for d in (torch.zeros_like(X), torch.tanh(3 * (0.5 - X)), 3 * torch.sign(pd - pg),
              game.optimal_discriminator(pd, pg) * 0.9, torch.randn_like(X)):
        assert game.expected_discriminator_loss(d, pd, pg, X) >= best - 1e-9


def test_a_discriminator_trained_with_the_hinge_loss_takes_the_sign_of_the_density_difference():
    game = HingeGame()
    d, pd, pg = trained_scores(game.discriminator_loss, -2.5, 2.5, 101)
    clear = ((pd - pg).abs() / (pd + pg)) > 0.2  # away from where the densities cross
    assert clear.sum() > 40
    assert torch.equal(torch.sign(d[clear]), game.optimal_discriminator(pd, pg)[clear])
    assert ((d[clear].abs() - 1).abs() < 0.35).all()  # near the ±1 of D*


def test_games_expose_the_interface_game_plays_through():
    real, fake = torch.randn(16), torch.randn(16)
    for game in (LeastSquaresGame(), HingeGame()):
        g_loss = game.generator_loss(fake)
        stats = game.statistics(real, fake, g_loss)
        assert stats.shape == (len(game.statistics_names),)
        assert len(game.diagnostic_losses(fake)) == len(game.diagnostic_names)
        assert float(stats[0]) == pytest.approx(float(game.discriminator_loss(real, fake)))
