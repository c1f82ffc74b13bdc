r"""The objective of the game and the losses the two players minimise.

Goodfellow et al. (2014), "Generative Adversarial Nets", eq. (1):

    min_G max_D V(D, G) = E_{x~p_data}[log D(x)] + E_{z~p_z}[log(1 - D(G(z)))]

The discriminator is represented by its *logit* l, with D(x) = σ(l(x)). The two
logarithms of eq. (1) have one home each, :func:`log_d` and :func:`log_one_minus_d`:

    log D      = log σ(l)      = -softplus(-l)
    log(1 - D) = log σ(-l)     = -softplus(l)

which are finite for every finite l (no log(0) and no overflow of exp), so
values and gradients stay finite for logits of any size. Every loss, statistic
and check in minimax is written with these two functions.

:class:`MinimaxObjective` bundles the losses one training run plays with (the
seam where another game plugs into :class:`~minimax.algorithm.trainer.Trainer`).

All expectations are minibatch means. Functions return 0-d tensors and are
differentiable with respect to the logits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from ..catalogue import GENERATOR_LOSSES, RING_2014
from . import theory
from .presentation import Presentation

GeneratorLossKind = Literal["non-saturating", "saturating"]

# The 2014 game as minimax names it (minimax.registry): its two options, and the object a run plays
COMPONENTS = [{
    "kind": "game", "name": "minimax", "object": "objective", "order": 1, "real_sign": True,
    "help": "the 2014 game, V = E log D(x) + E log(1 − D(G(z))) (Goodfellow et al. 2014)",
    "options": {
        "g_loss": {"type": "str", "choices": GENERATOR_LOSSES, "default": "non-saturating",
                   "help": "G's loss (the games with two)",
                   "more": "the saddle point as written ('saturating') or the paper's heuristic ('non-saturating')"},
        "label_smoothing": {"type": "float", "default": 0.0, "min": 0, "below": 1,
                            "help": "one-sided label smoothing s", "more": "the 2014 game's real target is 1 - s"},
    },
    "on": {"ring": RING_2014},  # (minimax.catalogue: f-js takes it too)
}]


def log_d(logits: torch.Tensor) -> torch.Tensor:
    r"""log D(x) = log σ(l) = -softplus(-l), elementwise; finite for every finite logit."""
    return -F.softplus(-logits)


def log_one_minus_d(logits: torch.Tensor) -> torch.Tensor:
    r"""log(1 - D(x)) = log σ(-l) = -softplus(l), elementwise; finite for every finite logit."""
    return -F.softplus(logits)


def value(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Minibatch estimate of the value function V(D, G).

    V̂ = (1/m) Σ_i log D(x_i) + (1/m) Σ_i log(1 - D(G(z_i)))
      = mean(log_d(l_real)) + mean(log_one_minus_d(l_fake))

    V ≤ 0 always; for the optimal discriminator V(D*, G) = -log 4 + 2·JSD(p_data ‖ p_g),
    so V = -log 4 ≈ -1.386 at the global optimum p_g = p_data.
    """
    return log_d(real_logits).mean() + log_one_minus_d(fake_logits).mean()


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0
) -> torch.Tensor:
    r"""Binary cross-entropy of D with real labelled ``real_label`` and generated labelled 0.

    L_D = (1/m) Σ_i BCE(l_real_i, t) + (1/m) Σ_i BCE(l_fake_i, 0),  with
    BCE(l, t) = -[t log D + (1 - t) log(1 - D)] = -[t·log_d(l) + (1 - t)·log_one_minus_d(l)].

    With t = 1 this is exactly -V̂(D, G), so minimising L_D is maximising V. With
    ``real_label`` t < 1 (one-sided label smoothing, Salimans et al. 2016, §3.4: only
    the real targets are softened; generated targets stay 0) it is
    L_D = -V̂ + (1 - t)·mean(l_real), since log D - log(1 - D) = l: L_D = -V̂ holds only
    without smoothing.
    """
    if not 0.0 < real_label <= 1.0:
        raise ValueError(f"real_label must be in (0, 1], got {real_label}")
    real_term = -(real_label * log_d(real_logits) + (1.0 - real_label) * log_one_minus_d(real_logits))
    return real_term.mean() - log_one_minus_d(fake_logits).mean()


def saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""The minimax generator loss, minimised by G: L_G = (1/m) Σ_i log(1 - D(G(z_i))) = mean(log_one_minus_d(l)).

    ∂L_G/∂l_i = -σ(l_i)/m, which vanishes as D(G(z)) → 0: when D confidently
    rejects the samples (early in training) G receives almost no gradient.
    """
    return log_one_minus_d(fake_logits).mean()


def non_saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""The non-saturating generator loss: L_G = -(1/m) Σ_i log D(G(z_i)) = -mean(log_d(l)).

    This is BCE with the generated samples labelled 1. ∂L_G/∂l_i = -(1 - σ(l_i))/m,
    which is largest exactly when D rejects the samples. Same fixed point as the
    minimax game, stronger gradients early (Goodfellow et al. 2014, §3).
    """
    return -log_d(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor, kind: GeneratorLossKind = "non-saturating") -> torch.Tensor:
    r"""The generator's loss, by name.

    ``"saturating"``:     L_G = mean log(1 - D(G(z)))  (the minimax form, minimised)
    ``"non-saturating"``: L_G = -mean log D(G(z))      (the heuristic form of §3)
    """
    if kind == "non-saturating":
        return non_saturating_generator_loss(fake_logits)
    if kind == "saturating":
        return saturating_generator_loss(fake_logits)
    raise ValueError(f"unknown generator loss {kind!r}; choose one of {', '.join(GENERATOR_LOSSES)}")


def total_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    r"""A diagnostic: L_total = L_D + (-mean log D(G(z))).

    The discriminator loss plus the non-saturating generator loss; both terms are
    ≥ 0, so L_total ≥ 0. It is *not* the minimax objective and neither player
    minimises it; it is reported because many training logs call it "total loss".
    minimax logs it on the D step's logits; the logged L_G of an alternating iteration is the
    G step's own loss on fresh noise, so there the logged total is not d_loss + g_loss.
    """
    return discriminator_loss(real_logits, fake_logits, real_label) + non_saturating_generator_loss(fake_logits)


STATISTICS = ("value", "value_real", "value_fake", "d_loss", "g_loss", "total_loss", "d_real", "d_fake")


@dataclass(frozen=True)
class MinimaxObjective(Presentation):
    r"""The 2014 game as one run plays it: which generator loss, which real label.

    :class:`~minimax.algorithm.trainer.Trainer` asks it for L_D, L_G, the generator losses whose gradient
    sizes are diagnosed, and the statistics of an iteration. Another game (least squares,
    hinge, ...) is another class with :class:`~minimax.games.GameObjective`'s members, in a module of its own.
    """

    g_loss: GeneratorLossKind = "non-saturating"
    real_label: float = 1.0

    name = "minimax"
    formula = "V(D, G) = E_{x~p_data}[log D(x)] + E_{z~p_z}[log(1 − D(G(z)))], D = σ(l)"
    statistics_names = STATISTICS
    diagnostic_names = ("g_grad_norm_saturating", "g_grad_norm_non_saturating")
    # at the optimum p_g = p_data: D* ≡ 1/2 and V = -log 4 (Theorem 1)
    equilibrium = {"value": theory.OPTIMAL_VALUE, "d_real": theory.EQUILIBRIUM_D, "d_fake": theory.EQUILIBRIUM_D}
    output_range = (0.0, 1.0)
    generator_sees_real = False  # L_G takes D(G(z)) only
    # how its numbers are shown (games/presentation.py): the paper's optimum and its two gradients
    optimum_labels = {"value": "$-\\log 4$ (optimum)", "d_real": "1/2 (equilibrium)", "d_fake": "1/2 (equilibrium)"}
    diagnostic_labels = {"g_grad_norm_saturating": "saturating: $\\log(1-D(G(z)))$",
                         "g_grad_norm_non_saturating": "non-saturating: $-\\log D(G(z))$"}
    optimal_d_label = "$D^*(x) = p_{data}/(p_{data} + \\hat p_g)$"
    saturation_picture = True

    @staticmethod
    def output(logits: torch.Tensor) -> torch.Tensor:
        """D(x) = σ(l(x)), the probability that x is real."""
        return torch.sigmoid(logits)

    @staticmethod
    def optimal_discriminator(log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
        r"""D*(x) = p_data/(p_data + p_g) (Proposition 1; :func:`minimax.games.theory.optimal_discriminator`)."""
        return theory.optimal_discriminator(log_p_data, log_p_g)

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return discriminator_loss(real_logits, fake_logits, self.real_label)

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return generator_loss(fake_logits, self.g_loss)

    def diagnostic_losses(self, fake_logits: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Both generator losses, whichever one trains: §3's saturation diagnostic compares
        the sizes of their gradients."""
        return saturating_generator_loss(fake_logits), non_saturating_generator_loss(fake_logits)

    @staticmethod
    def real_sign(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """E sign(logit D(x)): +1 when D calls every real image real (D(x) > ½), the statistic ADA adapts to."""
        return torch.sign(real_logits).mean()

    def statistics(self, real_logits: torch.Tensor, fake_logits: torch.Tensor, g_loss: torch.Tensor) -> torch.Tensor:
        r"""One iteration's statistics, in the order of :data:`STATISTICS`:

        V̂ and its two terms E log D(x) and E log(1 - D(G(z))), L_D, L_G, the total loss
        (from the D step's logits), mean D(x) and mean D(G(z)). ``g_loss`` is the G step's
        own loss: in alternating mode it was taken on fresh noise, so the logged total loss
        (the D step's G(z)) is not the sum of the logged d_loss and g_loss."""
        return torch.stack([
            value(real_logits, fake_logits),
            log_d(real_logits).mean(),
            log_one_minus_d(fake_logits).mean(),
            self.discriminator_loss(real_logits, fake_logits),
            g_loss,
            total_loss(real_logits, fake_logits, self.real_label),
            torch.sigmoid(real_logits).mean(),
            torch.sigmoid(fake_logits).mean(),
        ])


__all__ = ["log_d", "log_one_minus_d", "value", "discriminator_loss", "saturating_generator_loss",
           "non_saturating_generator_loss", "generator_loss", "total_loss", "MinimaxObjective", "GeneratorLossKind",
           "STATISTICS", "GENERATOR_LOSSES"]


def objective(g_loss: GeneratorLossKind = "non-saturating", label_smoothing: float = 0.0) -> MinimaxObjective:
    """The 2014 game with its options: the generator loss, and the real label 1 − s (one-sided smoothing)."""
    return MinimaxObjective(g_loss, 1.0 - label_smoothing)
