"""The conditional game p(x | c) (Goodfellow et al. 2014, §7), checked numerically on a 1-D two-class mixture:
D*(x, c) = p_data(x|c)/(p_data(x|c) + p_g(x|c)) and C(G) = Σ_c p(c)[-log 4 + 2 JSD_c] by quadrature; a
conditional D trained on samples approaches D*; the metrics of the conditional game on constructed cases."""
import math

import pytest
import torch

from minimax import discriminator_loss, log_d, log_one_minus_d
from minimax.data.toy import GaussianMixture
from minimax.games.theory import (
    conditional_virtual_training_criterion,
    jensen_shannon_1d,
    optimal_discriminator,
    optimal_discriminator_logit,
    virtual_training_criterion,
)
from minimax.metrics.conditional import class_quality, conditional_accuracy, intra_class_fid
from minimax.players import MLPDiscriminator

PRIOR = (0.3, 0.7)
DATA = (GaussianMixture("d0", torch.tensor([[-1.0]]), 0.5), GaussianMixture("d1", torch.tensor([[1.5]]), 0.7))
GEN = (GaussianMixture("g0", torch.tensor([[-0.5]]), 0.6), GaussianMixture("g1", torch.tensor([[1.2]]), 1.0))
X = torch.linspace(-12, 12, 40001, dtype=torch.float64)


def lp(mix):
    return lambda x: mix.log_prob(x.reshape(-1, 1)).double()


def value_by_quadrature(logit_of, data=DATA, gen=GEN, prior=PRIOR) -> float:
    r"""V(D, G) = Σ_c p(c) [∫ p_data(x|c) log D(x,c) dx + ∫ p_g(x|c) log(1 - D(x,c)) dx], D = σ(logit_of(x, c))."""
    total = 0.0
    for c, p in enumerate(prior):
        logit = logit_of(X, c)
        total += p * float(torch.trapezoid(lp(data[c])(X).exp() * log_d(logit), X)
                           + torch.trapezoid(lp(gen[c])(X).exp() * log_one_minus_d(logit), X))
    return total


def l_star(x, c, data=DATA, gen=GEN):
    return optimal_discriminator_logit(lp(data[c])(x), lp(gen[c])(x))


def jsds(data=DATA, gen=GEN):
    return [jensen_shannon_1d(lp(d), lp(g), X) for d, g in zip(data, gen)]


def test_value_at_conditional_d_star_is_the_conditional_criterion():
    v = value_by_quadrature(l_star)
    assert v == pytest.approx(conditional_virtual_training_criterion(PRIOR, jsds()), abs=1e-6)
    assert v > -math.log(4)


def test_conditional_d_star_is_the_maximiser():
    best = value_by_quadrature(l_star)
    for c_bumped in (0, 1):
        for bump in (0.3, -0.3):
            def perturbed(x, c, cb=c_bumped, b=bump):
                return l_star(x, c) + (b * torch.exp(-(x - 0.5) ** 2) if c == cb else 0)
            assert value_by_quadrature(perturbed) < best - 1e-5
    # the unconditional D* of the marginals is a feasible conditional D: it cannot do better
    def marginal(x, c):
        pd = torch.logsumexp(torch.stack([math.log(p) + lp(DATA[k])(x) for k, p in enumerate(PRIOR)]), 0)
        pg = torch.logsumexp(torch.stack([math.log(p) + lp(GEN[k])(x) for k, p in enumerate(PRIOR)]), 0)
        return pd - pg
    assert value_by_quadrature(marginal) < best - 1e-3


def test_a_generator_that_swaps_the_labels_fools_only_the_unconditional_game():
    """p_g(·|0) = p_data(·|1) and p_g(·|1) = p_data(·|0) with p(c) = ½: the marginals agree, so the
    unconditional criterion is at its optimum -log 4; the conditional one is not."""
    prior, swapped = (0.5, 0.5), (DATA[1], DATA[0])
    pd = lambda x: torch.logaddexp(lp(DATA[0])(x), lp(DATA[1])(x)) - math.log(2)  # noqa: E731
    pg = lambda x: torch.logaddexp(lp(swapped[0])(x), lp(swapped[1])(x)) - math.log(2)  # noqa: E731
    assert virtual_training_criterion(jensen_shannon_1d(pd, pg, X)) == pytest.approx(-math.log(4), abs=1e-9)
    c_of_g = conditional_virtual_training_criterion(prior, jsds(gen=swapped))
    assert c_of_g > -math.log(4) + 1.0
    assert value_by_quadrature(lambda x, c: l_star(x, c, gen=swapped), gen=swapped, prior=prior) == \
        pytest.approx(c_of_g, abs=1e-6)
    same = conditional_virtual_training_criterion(prior, jsds(gen=DATA))
    assert same == pytest.approx(-math.log(4), abs=1e-9)


def test_criterion_refuses_a_prior_that_is_not_a_distribution():
    with pytest.raises(ValueError):
        conditional_virtual_training_criterion((0.5, 0.6), [0.1, 0.2])


def test_trained_conditional_discriminator_approaches_d_star():
    """Maximise V over a conditional D alone (concatenated one-hot label) on samples of both classes."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    D = MLPDiscriminator((1,), hidden=(64, 64), activation="tanh", classes=2)
    opt = torch.optim.Adam(D.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.LinearLR(opt, 1.0, 0.05, total_iters=800)
    prior = torch.tensor(PRIOR)
    for _ in range(800):  # (800 steps: errors 0.007 and 0.006; 1,500: 0.009 and 0.005)
        c = torch.multinomial(prior, 2048, replacement=True, generator=g)
        x = torch.where(c[:, None] == 0, DATA[0].sample(2048, g), DATA[1].sample(2048, g))
        xg = torch.where(c[:, None] == 0, GEN[0].sample(2048, g), GEN[1].sample(2048, g))
        loss = discriminator_loss(D(x, c), D(xg, c))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    D.eval()
    errors = []
    for c in (0, 1):  # within ±1.5 std of the class's data
        mu, sd = float(DATA[c].centres), DATA[c].std
        x = torch.linspace(mu - 1.5 * sd, mu + 1.5 * sd, 61).reshape(-1, 1)
        with torch.no_grad():
            d = torch.sigmoid(D(x, torch.full((len(x),), c)))
        d_star = optimal_discriminator(DATA[c].log_prob(x), GEN[c].log_prob(x))
        errors.append(float((d - d_star).abs().max()))
    print(f"max |D(x, c) - D*(x, c)| per class: {errors}")
    assert max(errors) <= 0.03  # measured 0.007 and 0.006 (2026-12-07, one thread)


# -- the metrics, on constructed cases --------------------------------------------------------------------
def test_class_quality_counts_the_own_mode_only():
    centres = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    x = torch.tensor([[0.0, 0.0], [0.0, 0.02], [1.0, 0.0], [0.0, 0.0], [1.0, 0.05]])
    c = torch.tensor([0, 0, 0, 1, 1])  # class 0: 2 of 3 at mode 0; class 1: at mode 0 (wrong), 5σ off mode 1
    q = class_quality(x, c, centres, std=0.01)
    assert q["class_quality"] == pytest.approx([2 / 3, 0.0])
    assert q["class_quality_min"] == 0.0


def test_conditional_accuracy_per_class_and_mean():
    requested = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2])
    predicted = torch.tensor([0, 0, 0, 1, 1, 0, 2, 2])
    acc = conditional_accuracy(predicted, requested, 3)
    assert acc["accuracy"] == pytest.approx([0.75, 0.5, 1.0])
    assert acc["accuracy_mean"] == pytest.approx(0.75)


def test_intra_class_fid_against_gaussian_closed_form():
    """Features of each class ~ N(μ_c, I): the intra-class distance of class c is ‖μ_c - μ'_c‖² (+ sampling
    error); swapping the classes' samples leaves the pooled features alike but each class far off."""
    g = torch.Generator().manual_seed(0)
    n, d = 20000, 4
    mus = [torch.zeros(d), torch.full((d,), 3.0)]
    real = torch.cat([torch.randn(n, d, generator=g) + m for m in mus])
    labels = torch.arange(2).repeat_interleave(n)
    fake = torch.cat([torch.randn(n, d, generator=g) + m + torch.tensor([0.5, 0, 0, 0]) for m in mus])
    out = intra_class_fid(real, labels, fake, labels, 2)
    assert out["intra_fid"] == pytest.approx([0.25, 0.25], abs=0.02)
    swapped = intra_class_fid(real, labels, fake, 1 - labels, 2)
    assert min(swapped["intra_fid"]) > 30  # ‖(3,3,3,3) ± (0.5,0,0,0)‖² ≈ 36 ± 3
    with pytest.raises(ValueError, match="at least 2"):
        intra_class_fid(real, labels, fake[:1], labels[:1], 2)
