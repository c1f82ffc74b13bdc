r"""The health monitor: what the theory says is going wrong with a run, while it goes wrong.

It reads the records the run already writes (every ``log_every`` iterations: mean D(x), mean D(G(z)), V̂,
L_D, the generator's gradient norm under both losses, and the diversity of a fixed-noise batch) and names
four conditions, each with the numbers it measured, the paper's explanation and one thing to try:

* **saturation** (the 2014 game, saturating G loss): mean D(G(z)) < 0.05 and ‖∇L_G‖ under the saturating
  loss below 1% of the non-saturating one: log(1 − D(G(z))) has saturated (§3), G hardly moves;
* **discriminator wins** (the 2014 game): D(x) > 0.99, D(G(z)) < 0.01 and V̂ > −0.1: D separates data and
  samples, V̂ → sup V = 0 where the JSD term saturates at log 2 and G's signal is gone (§4);
* **collapse** (any game): the mean pairwise distance of G's samples on a fixed noise batch is below 10% of
  the data's: G maps too many z to the same x, the "Helvetica scenario" of §6;
* **oscillation** (games whose D has bounded outputs): D's output on generated samples swings with growing
  amplitude (the median jump of mean D(G(z)) between successive records, over the last 5, > 10% of D's range
  and more than twice the median jump of the 5 before; one level shift is not a swing): the warning sign
  before a non-finite stop (the gradient game circles its saddle point).

A condition is reported when it has held for ``WINDOW`` consecutive records (5: 500 iterations at the default
log interval), once until it clears. The thresholds were measured on real runs (README, "The health
monitor"): each fires on the run it describes and on none of the README's healthy runs.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

import torch

from .sampling import generate

WINDOW = 5
SATURATED_D = 0.05  # mean D(G(z)) below this ...
SATURATED_RATIO = 0.01  # ... and the saturating gradient below 1% of the non-saturating one
WIN_REAL, WIN_FAKE, WIN_VALUE = 0.99, 0.01, -0.1
COLLAPSED_DIVERSITY = 0.1  # fixed-noise samples' mean pairwise distance / the data's
SWING, SWING_GROWTH = 0.1, 2.0
DIVERSITY_SAMPLES = 256
DIVERSITY_SEED = 104729  # the fixed noise batch of the diversity statistic: a stream of its own

CONDITIONS = ("saturation", "discriminator wins", "collapse", "oscillation")


@dataclass(frozen=True)
class Finding:
    """One condition at one step: what was measured, why it happens, one thing to try."""

    condition: str
    step: int
    measured: str
    explanation: str
    remedy: str

    def line(self) -> str:
        return f"step {self.step}: {self.condition}: {self.measured}. {self.explanation} Try: {self.remedy}"

    def to_record(self) -> dict:
        return {"step": self.step, "event": "health", "condition": self.condition, "measured": self.measured,
                "explanation": self.explanation, "remedy": self.remedy}


EXPLANATIONS = {
    "saturation": ("Early in learning D rejects the samples with high confidence and log(1 - D(G(z))) saturates "
                   "(Goodfellow et al. 2014, §3): its gradient vanishes and G stops learning.",
                   "--g-loss non-saturating (G maximises log D(G(z)): same fixed point, strong gradients early)"),
    "discriminator wins": ("D separates data from samples: V̂ approaches its supremum 0, where 2·JSD saturates at "
                           "2 log 2 and tells G nothing about where p_data lies (§4).",
                           "weaken D: a lower --d-lr, --label-smoothing 0.1, --r1 1 or --spectral-norm on"),
    "collapse": ("G maps too many values of z to the same x to model p_data (the 'Helvetica scenario' of §6): "
                 "trained too far without D catching up, or never moved from a start where every z gives one x.",
                 "--pack 2 (PacGAN: D judges samples jointly), --k 2, or a lower --g-lr"),
    "oscillation": ("The players' gradient steps circle the saddle point instead of approaching it; a growing "
                    "swing of D's outputs precedes a non-finite loss.",
                    "a lower --lr, or --on-nan rollback"),
}


@torch.no_grad()
def mean_pairwise_distance(x: torch.Tensor) -> float:
    """(1/(n(n−1))) Σ_{i≠j} ‖x_i − x_j‖₂ of the rows of x (flattened)."""
    x = x.reshape(len(x), -1).double()
    n = len(x)
    return float(torch.cdist(x, x).sum() / (n * (n - 1))) if n > 1 else 0.0


def data_spread(data) -> float:
    """The mean pairwise distance of DIVERSITY_SAMPLES data samples (drawn from a stream of their own)."""
    gen = torch.Generator(device=getattr(data, "device", torch.device("cpu"))).manual_seed(DIVERSITY_SEED)
    return mean_pairwise_distance(data.to_data_space(data.sample(DIVERSITY_SAMPLES, gen)))


def sample_diversity(game, spread: float) -> float:
    """Mean pairwise distance of G's samples on a fixed noise batch over the data's ``spread`` (1 for a generator
    as spread out as the data; → 0 as it collapses)."""
    x = generate(game, DIVERSITY_SAMPLES, seed=game.cfg.seed + DIVERSITY_SEED)
    return mean_pairwise_distance(x) / max(spread, 1e-12)


class HealthMonitor:
    """Feed it each metrics record (:meth:`update`); it returns the conditions that have just set in."""

    def __init__(self, objective, g_loss: str = "non-saturating", k: int = 1):
        self.two_player_probability = objective.name == "minimax"  # D(x) ∈ [0, 1] with the 2014 game's meaning
        bounds = objective.output_range  # D's units; the swing is measured in them (unbounded critics: not at all)
        self.swing = SWING * (bounds[1] - bounds[0]) if bounds else None
        self.g_loss, self.k = g_loss, k
        self.records: list[dict] = []
        self.active: set[str] = set()
        self.findings: list[Finding] = []

    def update(self, record: dict) -> list[Finding]:
        self.records = (self.records + [record])[-(2 * WINDOW + 1):]
        new = []
        for condition in CONDITIONS:
            measured = self._check(condition)
            if measured is None:
                self.active.discard(condition)
            elif condition not in self.active:
                self.active.add(condition)
                new.append(Finding(condition, record["step"], measured, *self._advice(condition)))
        self.findings += new
        return new

    def replay(self, records: list[dict]) -> list[Finding]:
        """Every finding over a whole metrics log (the report; a resumed run's monitor catches up)."""
        for r in records:
            self.update(r)
        return self.findings

    def _advice(self, condition: str) -> tuple[str, str]:
        """(explanation, remedy) for this run: fewer D steps is advised only to a run with k > 1."""
        explanation, remedy = EXPLANATIONS[condition]
        if condition == "discriminator wins" and self.k > 1:
            remedy = f"fewer D steps (--k {self.k // 2}), " + remedy.removeprefix("weaken D: ")
            remedy = "weaken D: " + remedy
        return explanation, remedy

    def _held(self, test) -> list[dict] | None:
        """The last WINDOW records if ``test`` holds on each of them (missing statistics: it does not)."""
        last = self.records[-WINDOW:]
        if len(last) < WINDOW:
            return None
        try:
            return last if all(test(r) for r in last) else None
        except (KeyError, TypeError):
            return None

    def _check(self, condition: str) -> str | None:
        if condition == "saturation" and self.two_player_probability and self.g_loss == "saturating":
            held = self._held(lambda r: r["d_fake"] < SATURATED_D
                              and r["g_grad_norm_saturating"] < SATURATED_RATIO * r["g_grad_norm_non_saturating"])
            if held:
                r = held[-1]
                return (f"mean D(G(z)) = {r['d_fake']:.2g}; ‖∇L_G‖ = {r['g_grad_norm_saturating']:.2g} under the "
                        f"saturating loss against {r['g_grad_norm_non_saturating']:.2g} under the non-saturating one")
        if condition == "discriminator wins" and self.two_player_probability:
            held = self._held(lambda r: r["d_real"] > WIN_REAL and r["d_fake"] < WIN_FAKE and r["value"] > WIN_VALUE)
            if held:
                r = held[-1]
                return (f"mean D(x) = {r['d_real']:.3f}, D(G(z)) = {r['d_fake']:.2g}, V̂ = {r['value']:.3f} "
                        "(at the optimum: ½, ½ and −1.386)")
        if condition == "collapse":
            held = self._held(lambda r: r["diversity"] < COLLAPSED_DIVERSITY)
            if held:
                return (f"the samples of a fixed noise batch are {held[-1]['diversity']:.1%} as far apart as the "
                        "data's (mean pairwise distance)")
        if condition == "oscillation" and self.swing and len(self.records) == 2 * WINDOW + 1:
            try:
                d = [r["d_fake"] for r in self.records]
            except KeyError:
                return None
            # the median jump between successive records: a swing makes every jump large, a level shift only one
            jumps = [abs(b - a) for a, b in zip(d, d[1:])]
            before, now = statistics.median(jumps[:WINDOW]), statistics.median(jumps[WINDOW:])
            if now > self.swing and now > SWING_GROWTH * before:
                return (f"mean D(G(z)) jumps by {now:.3f} from record to record (median of the last {WINDOW}), "
                        f"up from {before:.3f}")
        return None
