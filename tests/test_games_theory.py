"""The other games (least squares, hinge, f-GAN, Wasserstein-GP) and the regularisers, checked like §4 of
the 2014 paper: the closed-form D* by quadrature gives the stated divergence, D* is the pointwise optimum,
and a discriminator trained with the game's own loss approaches D* (for WGAN-GP: its value approaches W1)."""
import math

import pytest
import torch
from torch.distributions import Normal

from minimax.data.toy import GaussianMixture
from minimax.games import DIVERGENCES, FGame, HingeGame, LeastSquaresGame, WassersteinGame
from minimax.games.hinge import total_variation
from minimax.games.least_squares import pearson_chi2_of_sum
from minimax.games.minimax import MinimaxObjective, non_saturating_generator_loss, saturating_generator_loss, value
from minimax.games.regularizers import GradientPenalty, R1Penalty, interpolate, spectral_normalise
from minimax.games.theory import jensen_shannon_1d, virtual_training_criterion
from minimax.games.wasserstein import optimal_critic_1d, wasserstein_1d
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


def train_discriminator(loss_fn, steps=800):
    """Minimise the game's L_D over D alone (G fixed), the inner problem of the game. 800 steps: each trained-D
    test's largest error is at most 0.58 of its bound (pearson; 0.66 at 1,500 steps, reverse-kl; measured
    2026-12-07, one thread), at about half the time of 1,500."""
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

    d_star = game.optimal_discriminator(pd.log(), pg.log())
    best = expected_loss(d_star)
    for bump in (0.05, -0.05, 0.3 * torch.sin(X)):
        assert expected_loss(d_star + bump) > best


def test_a_discriminator_trained_with_the_least_squares_loss_approaches_d_star():
    game = LeastSquaresGame()
    d, pd, pg = trained_scores(game.discriminator_loss, -2, 2, 81)
    assert (d - game.optimal_discriminator(pd.log(), pg.log())).abs().max() <= 0.1


# --- hinge (Lim & Ye 2017; Miyato et al. 2018) --------------------------------------------------
def test_hinge_d_star_gives_two_minus_twice_the_total_variation():
    pd, pg = densities(X)
    game = HingeGame()
    d_star = game.optimal_discriminator(pd.log(), pg.log())
    tv = total_variation(pd, pg, X)
    assert game.expected_discriminator_loss(d_star, pd, pg, X) == pytest.approx(2 - 2 * tv, abs=1e-6)
    assert 0.1 < tv < 1
    assert game.expected_discriminator_loss(torch.zeros_like(X), pd, pd, X) == pytest.approx(2.0, abs=1e-6)


def test_hinge_d_star_is_the_minimiser_over_bounded_and_unbounded_scores():
    pd, pg = densities(X)
    game = HingeGame()
    best = game.expected_discriminator_loss(game.optimal_discriminator(pd.log(), pg.log()), pd, pg, X)
    torch.manual_seed(0)
    for d in (torch.zeros_like(X), torch.tanh(3 * (0.5 - X)), 3 * torch.sign(pd - pg),
              game.optimal_discriminator(pd.log(), pg.log()) * 0.9, torch.randn_like(X)):
        assert game.expected_discriminator_loss(d, pd, pg, X) >= best - 1e-9


def test_a_discriminator_trained_with_the_hinge_loss_takes_the_sign_of_the_density_difference():
    game = HingeGame()
    d, pd, pg = trained_scores(game.discriminator_loss, -2.5, 2.5, 101)
    clear = ((pd - pg).abs() / (pd + pg)) > 0.2  # away from where the densities cross
    assert clear.sum() > 40
    assert torch.equal(torch.sign(d[clear]), game.optimal_discriminator(pd.log(), pg.log())[clear])
    assert ((d[clear].abs() - 1).abs() < 0.35).all()  # near the ±1 of D*


def test_games_expose_the_interface_game_plays_through():
    real, fake = torch.randn(16), torch.randn(16)
    for game in (LeastSquaresGame(), HingeGame()):
        g_loss = game.generator_loss(fake)
        stats = game.statistics(real, fake, g_loss)
        assert stats.shape == (len(game.statistics_names),)
        assert len(game.diagnostic_losses(fake)) == len(game.diagnostic_names)
        assert float(stats[0]) == pytest.approx(float(game.discriminator_loss(real, fake)))


# --- f-GAN (Nowozin et al. 2016) -----------------------------------------------------------------
MU_P, SD_P, MU_Q, SD_Q = 0.0, 1.0, 1.0, 1.3  # P_DATA and P_G


def gaussian_kl(mu1, s1, mu2, s2):
    return math.log(s2 / s1) + (s1**2 + (mu1 - mu2) ** 2) / (2 * s2**2) - 0.5


def gaussian_pearson(mu1, s1, mu2, s2):
    """χ²(P ‖ Q) = ∫ p²/q − 1 for Gaussians: a Gaussian integral ∫ exp(−a x² + b x − c)."""
    a = 1 / s1**2 - 1 / (2 * s2**2)
    b = 2 * mu1 / s1**2 - mu2 / s2**2
    c = mu1**2 / s1**2 - mu2**2 / (2 * s2**2)
    return s2 / (math.sqrt(2 * math.pi) * s1**2) * math.sqrt(math.pi / a) * math.exp(b * b / (4 * a) - c) - 1


def gaussian_squared_hellinger(mu1, s1, mu2, s2):
    """∫ (√p − √q)² = 2 − 2·BC, with the Bhattacharyya coefficient of two Gaussians."""
    bc = math.sqrt(2 * s1 * s2 / (s1**2 + s2**2)) * math.exp(-((mu1 - mu2) ** 2) / (4 * (s1**2 + s2**2)))
    return 2 - 2 * bc


def log_densities(x):
    x = x.reshape(-1, 1)
    return P_DATA.log_prob(x).double(), P_G.log_prob(x).double()


def jsd():
    return jensen_shannon_1d(lambda t: P_DATA.log_prob(t.reshape(-1, 1)).double(),
                             lambda t: P_G.log_prob(t.reshape(-1, 1)).double(), X)


CLOSED_FORMS = {
    "kl": lambda: gaussian_kl(MU_P, SD_P, MU_Q, SD_Q),
    "reverse-kl": lambda: gaussian_kl(MU_Q, SD_Q, MU_P, SD_P),
    "pearson": lambda: gaussian_pearson(MU_P, SD_P, MU_Q, SD_Q),
    "hellinger": lambda: gaussian_squared_hellinger(MU_P, SD_P, MU_Q, SD_Q),
    "js": lambda: 2 * jsd(),
    "gan": lambda: virtual_training_criterion(jsd()),  # the 2014 game: C(G) = −log 4 + 2·JSD (Theorem 1)
}


@pytest.mark.parametrize("name", list(DIVERGENCES))
def test_f_divergence_by_quadrature_is_the_closed_form(name):
    lpd, lpg = log_densities(X)
    d_f = FGame(name).divergence_value(lpd, lpg, X)
    assert d_f == pytest.approx(CLOSED_FORMS[name](), abs=1e-6)
    assert FGame(name).divergence_value(lpd, lpd, X) == pytest.approx(FGame(name).equilibrium["value"], abs=1e-9)


@pytest.mark.parametrize("name", list(DIVERGENCES))
def test_f_gan_optimal_discriminator_attains_the_divergence_and_is_the_maximiser(name):
    game = FGame(name)
    lpd, lpg = log_densities(X)
    v_star = game.optimal_logit(lpd, lpg)
    best = game.expected_value(v_star, lpd, lpg, X)
    assert best == pytest.approx(game.divergence_value(lpd, lpg, X), abs=1e-6)  # sup_T V = D_f (eq. 5)
    assert best == pytest.approx(CLOSED_FORMS[name](), abs=1e-6)
    for bump in (0.05, -0.05, 0.2 * torch.sin(X)):  # any other T is a lower bound only
        assert game.expected_value(v_star + bump, lpd, lpg, X) < best
    # T* = f'(1) where the densities are equal
    assert torch.allclose(game.optimal_discriminator(lpd, lpd), torch.full_like(lpd, game.f.t_at_equality))


def test_the_gan_member_of_f_gan_is_the_2014_game():
    torch.manual_seed(0)
    real, fake = 4 * torch.randn(64), 4 * torch.randn(64)
    f, mm = FGame("gan", "non-saturating"), MinimaxObjective()
    assert torch.allclose(f.value(real, fake), value(real, fake), atol=1e-6)
    assert torch.allclose(f.discriminator_loss(real, fake), mm.discriminator_loss(real, fake), atol=1e-6)
    assert torch.allclose(f.non_saturating_generator_loss(fake), non_saturating_generator_loss(fake), atol=1e-6)
    assert torch.allclose(f.saturating_generator_loss(fake), saturating_generator_loss(fake), atol=1e-6)
    # js is the same game with log 2 added to both terms: the same gradients, V shifted by 2 log 2
    js = FGame("js")
    assert torch.allclose(js.value(real, fake), f.value(real, fake) + 2 * math.log(2), atol=1e-6)


@pytest.mark.parametrize("name", ["kl", "reverse-kl", "pearson", "hellinger", "js"])
def test_a_discriminator_trained_with_an_f_gan_loss_approaches_t_star(name):
    game = FGame(name)
    D = train_discriminator(game.discriminator_loss)
    x = torch.linspace(-2, 2, 81).reshape(-1, 1)
    with torch.no_grad():
        t = game.output(D(x)).double()
    t_star = game.optimal_discriminator(*log_densities(x))
    assert (t - t_star).abs().max() <= 0.1 * t_star.abs().max()


def test_f_gan_losses_are_finite_for_large_logits_where_the_divergence_allows():
    v = torch.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], requires_grad=True)
    for name in ("js", "gan", "pearson"):  # log σ terms (and a polynomial) stay finite at any logit
        game = FGame(name)
        loss = game.discriminator_loss(v, v) + game.generator_loss(v)
        (grad,) = torch.autograd.grad(loss, v)
        assert torch.isfinite(loss) and torch.isfinite(grad).all()


# --- Wasserstein with gradient penalty (Arjovsky et al. 2017; Gulrajani et al. 2017) -------------
def cdfs(x):
    return Normal(MU_P, SD_P).cdf(x), Normal(MU_Q, SD_Q).cdf(x)


def test_wasserstein_1d_is_the_closed_form_for_a_shift_and_the_optimal_critic_attains_it():
    shift = wasserstein_1d(Normal(0.0, 1.0).cdf(X), Normal(0.7, 1.0).cdf(X), X)
    assert shift == pytest.approx(0.7, abs=1e-6)  # W1 between translates is the translation
    f_data, f_g = cdfs(X)
    w1 = wasserstein_1d(f_data, f_g, X)
    f_star = optimal_critic_1d(f_data, f_g, X)
    pd, pg = densities(X)
    dual = float(torch.trapezoid((pd - pg) * f_star, X))  # E_data f* − E_g f*
    assert dual == pytest.approx(w1, abs=1e-6)
    assert (f_star.diff().abs() / X.diff()).max() <= 1 + 1e-9  # 1-Lipschitz


def test_a_critic_trained_with_the_gradient_penalty_estimates_w1():
    game, gp = WassersteinGame(), GradientPenalty(10.0)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    D = MLPDiscriminator((1,), hidden=(64, 64), activation="tanh")
    opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))
    for _ in range(500):
        real, fake = P_DATA.sample(1024, g), P_G.sample(1024, g)
        loss = game.discriminator_loss(D(real), D(fake)) + gp.coefficient * gp(D, real, fake, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        estimate = float(game.value(D(P_DATA.sample(200_000, g)), D(P_G.sample(200_000, g))))
    assert estimate == pytest.approx(wasserstein_1d(*cdfs(X), X), rel=0.1)


# --- the regularisers -----------------------------------------------------------------------------
def test_gradient_penalty_draws_one_epsilon_per_example():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.zeros(64, 3, 4, 4), torch.ones(64, 3, 4, 4)
    x_hat = interpolate(real, fake, g)  # = 1 − ε
    per_example = x_hat.flatten(1)
    assert torch.equal(per_example, per_example[:, :1].expand_as(per_example))  # one ε over every pixel
    eps = 1 - per_example[:, 0]
    assert eps.unique().numel() == 64 and 0 <= eps.min() and eps.max() <= 1  # a fresh ε for each example


def test_gradient_penalty_and_r1_against_their_closed_forms_and_autograd():
    w = torch.tensor([[0.3, -1.2, 2.0]])
    linear = torch.nn.Linear(3, 1, bias=True)
    with torch.no_grad():
        linear.weight.copy_(w)
    D = lambda x: linear(x).squeeze(1)  # noqa: E731  ∇_x D = w everywhere
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(32, 3), torch.randn(32, 3)
    assert GradientPenalty(10.0)(D, real, fake, g).item() == pytest.approx((w.norm().item() - 1) ** 2, rel=1e-5)
    assert R1Penalty(4.0)(D, real, fake, g).item() == pytest.approx(w.pow(2).sum().item(), rel=1e-5)
    assert R1Penalty(4.0).coefficient == 2.0  # γ/2

    # a non-linear D: the penalty's gradient with respect to D's weights is autograd of the written formula
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    D2 = lambda x: net(x).squeeze(1)  # noqa: E731
    r1 = R1Penalty(1.0)(D2, real, fake, g)
    (grad,) = torch.autograd.grad(r1, net[0].weight)
    x = real.clone().requires_grad_(True)
    (gx,) = torch.autograd.grad(D2(x).sum(), x, create_graph=True)
    written = sum(gx[i].pow(2).sum() for i in range(len(x))) / len(x)  # (1/m) Σ_i ‖∇_x D(x_i)‖²
    (expected,) = torch.autograd.grad(written, net[0].weight)
    assert torch.allclose(r1, written) and torch.allclose(grad, expected, atol=1e-6)


def test_spectral_normalisation_makes_every_layer_one_lipschitz():
    torch.manual_seed(0)
    D = spectral_normalise(MLPDiscriminator((2,), hidden=(64, 64), activation="leaky_relu"))
    for _ in range(30):  # one power iteration per forward in training mode
        D(torch.randn(16, 2))
    layers = [m for m in D.modules() if isinstance(m, torch.nn.Linear)]
    assert len(layers) == 3
    for m in layers:
        assert torch.linalg.matrix_norm(m.weight.detach(), ord=2) == pytest.approx(1.0, abs=1e-3)
