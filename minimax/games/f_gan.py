r"""The f-GAN family (Nowozin, Cseke & Tomioka 2016, "f-GAN: Training Generative Neural Samplers
using Variational Divergence Minimization").

For a convex f with f(1) = 0, the f-divergence D_f(P ‖ Q) = ∫ q(x) f(p(x)/q(x)) dx has the
variational lower bound (eq. 4, with f* the convex conjugate of f)

    V(T, G) = E_{x~p_data}[T(x)] − E_{z~p_z}[f*(T(G(z)))] ≤ D_f(p_data ‖ p_g),

with equality at T*(x) = f'(p_data(x)/p_g(x)) (eq. 5). D's raw output v is mapped into the domain
of f* by an output activation, T = g_f(v) (eq. 7 and Table 2). D maximises V (minimises L_D = -V̂);
G minimises V, either in the saddle-point form L_G = -E f*(T(G(z))) ("saturating", the game as
written) or in the form of §3.2, L_G = -E T(G(z)) ("non-saturating").

Every quantity here is a function of the log density ratio r = log p_data - log p_g and of D's raw
output v (Table 2 of the paper; u = p_data/p_g = e^r):

    name            f(u)                          g_f(v)                f*(g_f(v))          v* (T* = f'(u))
    kl              u log u                       v                     exp(v - 1)          1 + r
    reverse-kl      -log u                        -exp(-v)              v - 1               r
    pearson         (u - 1)²                      v                     v²/4 + v            2(e^r - 1)
    hellinger       (√u - 1)²                     1 - exp(-v)           exp(v) - 1          r/2
    js              u log u - (u+1) log((u+1)/2)  log 2 + log σ(v)      -log 2 - log(1-σ(v)) r
    gan             u log u - (u+1) log(u+1)      log σ(v)              -log(1 - σ(v))      r

``gan`` is the 2014 game itself: T = log D, f*(T) = -log(1 - D), so V is eq. (1) of Goodfellow et
al. and D_f = 2·JSD - log 4 = C(G) (Theorem 1); ``js`` is the same game shifted by log 2 in both
terms, D_f = 2·JSD. The log σ terms are written with :func:`~minimax.games.minimax.log_d` and
:func:`~minimax.games.minimax.log_one_minus_d`, finite for every logit. The exponential members (kl,
reverse-kl, hellinger) grow like e^|v| by their definition: a discriminator that runs away makes
the loss overflow, which the training loop reports as divergence.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..catalogue import RING_2014
from .minimax import GeneratorLossKind, log_d, log_one_minus_d
from .presentation import Presentation

LOG2 = math.log(2.0)
Fn = Callable[[torch.Tensor], torch.Tensor]

# The five f-GAN games (Nowozin et al. 2016 give no settings for the toy sets): the step stepped down, or spectral
# normalisation in D (Miyato et al. 2018), which bounds T(x) and so the conjugate f*(T(x)) in D's loss (f-reverse-kl
# on the ring diverged on 3 of 4 tuning runs without it, on none with it). On MNIST (DCGAN players, equal wall time)
# spectral norm with no BatchNorm in D, SN-GAN's discriminator: under DCGAN's BatchNorm D f-hellinger collapsed (FID
# 836-891 on the tuning seeds, 8x the 2014 game's) and f-reverse-kl scored 1.6x the 2014 game's; with it 1.2x, 1.3x.
COMPONENTS = [
    {"kind": "game", "name": "f-kl", "object": "FGame", "arguments": {"divergence": "kl"}, "order": 5,
     "options": {"g_loss": None}, "help": "f-GAN, KL(p_data ‖ p_g) (Nowozin et al. 2016)",
     "on": {"ring": {"steps": 6000, "lr": 3e-4}, "grid": {"steps": 6000, "lr": 1e-4, "spectral_norm": "on"}},
     "shortfalls": {"grid": "16.0 of 25 modes on seeds 2-6 and 2.5% of samples within 3σ; the rest lie between the "
                            "modes (without spectral norm no sample reached a mode)"}},
    {"kind": "game", "name": "f-reverse-kl", "object": "FGame", "arguments": {"divergence": "reverse-kl"},
     "order": 6, "options": {"g_loss": None}, "help": "f-GAN, KL(p_g ‖ p_data) (Nowozin et al. 2016)",
     "on": {"ring": {"steps": 6000, "lr": 1e-4, "spectral_norm": "on"}, "grid": {"steps": 6000, "lr": 3e-4},
            "mnist": {"spectral_norm": "on", "d_norm": "none"}},
     "shortfalls": {"grid": "13.8 of 25 modes on seeds 2-6 and 24.4% of samples within 3σ",
                    "ring": "8 of 8 modes on seeds 2-6 but 74.2% of samples within 3σ; without spectral norm it "
                            "diverged on 3 of 4 tuning runs"}},
    {"kind": "game", "name": "f-pearson", "object": "FGame", "arguments": {"divergence": "pearson"}, "order": 7,
     "options": {"g_loss": None}, "help": "f-GAN, Pearson χ² (Nowozin et al. 2016)",
     "on": {"ring": {"steps": 6000, "lr": 3e-4}, "grid": {"steps": 6000, "lr": 1e-4, "spectral_norm": "on"}},
     "shortfalls": {"grid": "23.2 of 25 modes on seeds 2-6 but only 4.2% of samples within 3σ; the rest lie between "
                            "the modes"}},
    {"kind": "game", "name": "f-hellinger", "object": "FGame", "arguments": {"divergence": "hellinger"}, "order": 8,
     "options": {"g_loss": None}, "help": "f-GAN, squared Hellinger (Nowozin et al. 2016)",
     "on": {"ring": {"steps": 6000, "lr": 1e-4, "spectral_norm": "on"},
            "grid": {"steps": 6000, "lr": 1e-4, "spectral_norm": "on"},
            "mnist": {"spectral_norm": "on", "d_norm": "none"}},
     "shortfalls": {"ring": "8 of 8 modes on seeds 2-6 but 76.9% of samples within 3σ",
                    "grid": "23.4 of 25 modes on seeds 2-6 but only 12.5% of samples within 3σ; the rest lie "
                            "between the modes"}},
    {"kind": "game", "name": "f-js", "object": "FGame", "arguments": {"divergence": "js"}, "order": 9,
     "options": {"g_loss": None}, "help": "f-GAN, Jensen-Shannon (Nowozin et al. 2016)",
     "on": {"ring": RING_2014}},  # the 2014 game's: f-js trains its parameters bitwise (docs/results-toy.md)
]


@dataclass(frozen=True)
class FDivergence:
    """One row of Table 2: f (as a function of r = log u), the output activation g_f, f*∘g_f, v*(r), f'(1)."""

    name: str
    f_of_log_ratio: Fn  # r ↦ f(e^r)
    activation: Fn  # v ↦ T = g_f(v)
    conjugate: Fn  # v ↦ f*(g_f(v))
    optimal_logit: Fn  # r ↦ v* with g_f(v*) = f'(e^r)
    t_at_equality: float  # f'(1): T* where p_g = p_data
    divergence: str  # what D_f(p_data ‖ p_g) is called


def _softplus(r: torch.Tensor) -> torch.Tensor:
    return -log_one_minus_d(r)  # log(1 + e^r)


DIVERGENCES: dict[str, FDivergence] = {d.name: d for d in (
    FDivergence("kl", lambda r: r.exp() * r, lambda v: v, lambda v: (v - 1).exp(), lambda r: 1 + r, 1.0,
                "KL(p_data ‖ p_g)"),
    FDivergence("reverse-kl", lambda r: -r, lambda v: -(-v).exp(), lambda v: v - 1, lambda r: r, -1.0,
                "KL(p_g ‖ p_data)"),
    FDivergence("pearson", lambda r: (r.exp() - 1) ** 2, lambda v: v, lambda v: v * v / 4 + v,
                lambda r: 2 * (r.exp() - 1), 0.0, "Pearson χ²(p_data ‖ p_g)"),
    FDivergence("hellinger", lambda r: ((r / 2).exp() - 1) ** 2, lambda v: 1 - (-v).exp(), lambda v: v.exp() - 1,
                lambda r: r / 2, 0.0, "squared Hellinger ∫(√p_data − √p_g)²"),
    FDivergence("js", lambda r: r.exp() * r - (r.exp() + 1) * (_softplus(r) - LOG2), lambda v: LOG2 + log_d(v),
                lambda v: -LOG2 - log_one_minus_d(v), lambda r: r, 0.0, "2·JSD(p_data ‖ p_g)"),
    FDivergence("gan", lambda r: r.exp() * r - (r.exp() + 1) * _softplus(r), log_d, lambda v: -log_one_minus_d(v),
                lambda r: r, -LOG2, "2·JSD(p_data ‖ p_g) − log 4"),
)}


@dataclass(frozen=True)
class FGame(Presentation):
    """The f-GAN game for one divergence, on D's raw output v."""

    divergence: str = "kl"
    g_loss: GeneratorLossKind = "non-saturating"

    statistics_names = ("value", "d_loss", "g_loss", "d_real", "d_fake")
    diagnostic_names = ("g_grad_norm_saturating", "g_grad_norm_non_saturating")
    output_range = None
    generator_sees_real = False  # L_G takes D(G(z)) only
    value_bounds = "D_f"  # V̂ is a lower bound of D_f ≥ 0 (the variational bound): a negative V̂ is T's shortfall

    def __post_init__(self):
        if self.divergence not in DIVERGENCES:
            raise ValueError(f"unknown f-divergence {self.divergence!r}; choose one of {', '.join(DIVERGENCES)}")

    @property
    def f(self) -> FDivergence:
        return DIVERGENCES[self.divergence]

    @property
    def name(self) -> str:
        return f"f-{self.divergence}"

    @property
    def formula(self) -> str:
        return (f"V(T, G) = E_{{p_data}}[T(x)] − E_{{p_z}}[f*(T(G(z)))] ≤ D_f = {self.f.divergence}, "
                "T = g_f(v) (Nowozin et al. 2016)")

    @property
    def equilibrium(self) -> dict[str, float]:
        """At p_g = p_data: V = D_f = f(1) (0, or -log 4 for ``gan``) and T* ≡ f'(1)."""
        t, v = self.f.t_at_equality, float(self.f.f_of_log_ratio(torch.zeros((), dtype=torch.float64))) + 0.0
        return {"value": v, "d_real": t, "d_fake": t}

    def output(self, v: torch.Tensor) -> torch.Tensor:
        """T(x) = g_f(v(x))."""
        return self.f.activation(v)

    def value(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        r"""V̂ = mean g_f(v_real) − mean f*(g_f(v_fake)), a lower bound on D_f for any D."""
        return self.f.activation(real).mean() - self.f.conjugate(fake).mean()

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        r"""L_D = -V̂ (D maximises the lower bound)."""
        return -self.value(real, fake)

    def saturating_generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        r"""The saddle-point form, G minimises V: L_G = -mean f*(g_f(v_fake))."""
        return -self.f.conjugate(fake).mean()

    def non_saturating_generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        r"""§3.2's form, G maximises E g_f(v(G(z))): L_G = -mean g_f(v_fake)."""
        return -self.f.activation(fake).mean()

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        if self.g_loss == "saturating":
            return self.saturating_generator_loss(fake)
        return self.non_saturating_generator_loss(fake)

    def diagnostic_losses(self, fake: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.saturating_generator_loss(fake), self.non_saturating_generator_loss(fake)

    def statistics(self, real: torch.Tensor, fake: torch.Tensor, g_loss: torch.Tensor) -> torch.Tensor:
        """V̂, L_D, L_G, mean T(x) and mean T(G(z))."""
        v = self.value(real, fake)
        return torch.stack([v, -v, g_loss, self.output(real).mean(), self.output(fake).mean()])

    # -- the theory -----------------------------------------------------------------------------
    def optimal_logit(self, log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
        r"""v*(x) with g_f(v*) = T*(x) = f'(p_data(x)/p_g(x)) (eq. 5)."""
        return self.f.optimal_logit(log_p_data - log_p_g)

    def optimal_discriminator(self, log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
        r"""T*(x) = f'(p_data(x)/p_g(x)), in the units of :meth:`output`."""
        return self.output(self.optimal_logit(log_p_data, log_p_g))

    def expected_value(self, v: torch.Tensor, log_p_data: torch.Tensor, log_p_g: torch.Tensor,
                       x: torch.Tensor) -> float:
        r"""V(v) = ∫ p_data g_f(v) − p_g f*(g_f(v)) dx for D's output v given on the 1-D grid ``x``."""
        integrand = log_p_data.exp() * self.f.activation(v) - log_p_g.exp() * self.f.conjugate(v)
        return float(torch.trapezoid(integrand, x))

    def divergence_value(self, log_p_data: torch.Tensor, log_p_g: torch.Tensor, x: torch.Tensor) -> float:
        r"""D_f(p_data ‖ p_g) = ∫ p_g f(p_data/p_g) dx by the trapezoid rule on the 1-D grid ``x``."""
        return float(torch.trapezoid(log_p_g.exp() * self.f.f_of_log_ratio(log_p_data - log_p_g), x))
