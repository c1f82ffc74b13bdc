r"""The health monitor: what the theory says is going wrong with a run, while it goes wrong.

It reads the records the run already writes (every ``log_every`` iterations: mean D(x), mean D(G(z)), V̂,
L_D, the generator's gradient norm under both losses, and the diversity of a fixed-noise batch) and names
five conditions, each with the numbers it measured, the paper's explanation and one thing to try:

* **saturation** (the 2014 game, saturating G loss): mean D(G(z)) < 0.05 and ‖∇L_G‖ under the saturating
  loss below 1% of the non-saturating one: log(1 − D(G(z))) has saturated (§3), G hardly moves;
* **discriminator wins** (the 2014 game): V̂ > −log(4)/10, i.e. D's loss −V̂ below a tenth of its value at the
  equilibrium (log 4): D separates data and samples, V̂ → sup V = 0 where the JSD term saturates at log 2 and
  G's signal is gone (§4);
* **collapse** (any game): the mean pairwise distance of G's samples on a fixed noise batch is below 10% of
  the data's and not rising (up by less than a quarter of that threshold over the window: a G that is
  leaving its one-image start is not collapsed): G maps too many z to the same x, the "Helvetica scenario" of §6;
* **off the data** (any game): more than half of those samples are farther from every one of 1,024 data
  samples than the data's own spread (its mean pairwise distance; at p_g = p_data almost no sample is). The
  same yardstick as collapse, in data space (pixels for images), so toy data and images are judged alike;
* **mode dropping** and **imprecise samples** (any game, on data whose modes are known: the 1-D and 2-D
  mixtures; judged late in the run), in data space, against the data's own draws. *Modes covered*: the modes with
  at least one of 2,500 fixed-noise samples within 3σ (the summary's rule and sample size), over the number 2,500
  data samples cover; below 1 means G has dropped modes (256 samples miss a mode holding 0.3% of G's mass half the
  time, where the summary's 2,500 count it: the first held-out draw flagged two healthy runs that way).
  *Precision* (Kynkäänniemi et al. 2019, k = 3): the share of the 256 fixed-noise samples inside some data
  sample's k-nearest-neighbour ball, over that share between two draws of 256 data samples; below
  ``LOW_PRECISION`` means many samples lie where the data is not (between
  the modes, smeared). Both are in the data's units for every game, so they read runs whose statistics the other
  rules cannot interpret. Recall, density and coverage (Naeem et al. 2020) are logged beside them and not
  judged: samples between the modes make G's balls large and inflate recall (an lsgan ring run with 6 of 8
  modes read 0.85 of the data's), and coverage falls when G's samples sit tighter than σ inside every mode (a
  healthy ring run read 0.2-0.6). A healthy run's samples are still finding the data until late (3,000-iteration
  ring runs: precision 0.1-0.6 of the data's at three quarters of the way, 0.8 at the end), so both are judged
  from ``JUDGED_FROM`` of the run's steps on: a verdict near the end, not an early warning;
* **oscillation** (games whose D has bounded outputs): D's output on generated samples swings with growing
  amplitude (the median jump of mean D(G(z)) between successive records, over the last 5, > 10% of D's range
  and more than twice the median jump of the 5 before; one level shift is not a swing): the warning sign
  before a non-finite stop (the gradient game circles its saddle point).

A condition is reported when it has held for ``WINDOW`` consecutive records (5: 500 iterations at the default
log interval), once until it clears; its clearing is an event of its own. It is *persistent* once it has held
for ``WINDOW`` more records (``--on-collapse stop`` acts only then). The thresholds come from the theory's
scales (½ at the optimum, the data's own spread) and were measured
on a labelled corpus of runs (``benchmarks/monitor_corpus.py``, docs/monitor.md).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import torch

from ..metrics.modes import DEFAULT_EVAL_SAMPLES, mode_metrics
from ..metrics.precision_recall import precision_recall
from .sampling import generate

WINDOW = 5
SATURATED_D = 0.05  # mean D(G(z)) below this ...
SATURATED_RATIO = 0.01  # ... and the saturating gradient below 1% of the non-saturating one
WIN_VALUE = -math.log(4) / 10  # V̂ above this: D's loss below a tenth of log 4, its value at the equilibrium
COLLAPSED_DIVERSITY = 0.1  # fixed-noise samples' mean pairwise distance / the data's ...
RISING = COLLAPSED_DIVERSITY / 4  # ... and not up by this much over the window
OFF_DATA = 0.5  # more than half the samples farther from every data sample than the data's spread
SWING, SWING_GROWTH = 0.1, 2.0
DIVERSITY_SAMPLES = 256
ANCHORS = 1024  # data samples a sample's distance to the data is measured to
MODE_SAMPLES = DEFAULT_EVAL_SAMPLES  # fixed-noise samples whose modes are counted: as many as the summary counts
DIVERSITY_SEED = 104729  # the fixed noise batch of the diversity statistic: a stream of its own
LOW_PRECISION = 0.5  # precision below this fraction of the data's own (two draws of p_data): samples off the data
JUDGED_FROM = 0.9  # ... and fewer modes covered than the data's own draw: judged from this fraction of the steps on

CONDITIONS = ("saturation", "discriminator wins", "collapse", "off the data", "mode dropping", "imprecise samples",
              "oscillation")


@dataclass(frozen=True)
class Finding:
    """One condition at one step: what was measured, why it happens, one thing to try; or (``cleared``) the
    step at which a reported condition stopped holding, with what was measured then."""

    condition: str
    step: int
    measured: str
    explanation: str = ""
    remedy: str = ""
    cleared: bool = False

    def line(self) -> str:
        if self.cleared:
            return f"step {self.step}: {self.condition} cleared: {self.measured}"
        return f"step {self.step}: {self.condition}: {self.measured}. {self.explanation} Try: {self.remedy}"

    def to_record(self) -> dict:
        if self.cleared:
            return {"step": self.step, "event": "health", "condition": self.condition, "cleared": True,
                    "measured": self.measured}
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
    "off the data": ("G's samples lie where the data almost never is: G has not found p_data or has left it; the "
                     "divergence's gradient there can be vanishing or misleading (a mode-seeking f-divergence, a "
                     "step size too large).",
                     "a lower --lr, --game minimax with --g-loss non-saturating, or --r1 1"),
    "mode dropping": ("Part of p_data has no generated sample near it: G covers some of the data's modes and "
                      "drops the others, whatever the game's own statistics say (they can sit at their equilibrium "
                      "values while G misses modes).",
                      "--pack 2 (PacGAN), --k 2, a lower --g-lr, or --r1 1 with --game rpgan"),
    "imprecise samples": ("Many samples lie where the data is not: between the modes, or blurred across them; D "
                          "no longer tells G where p_data is precisely (a D too weak or too slow for G).",
                          "a stronger or faster D: a higher --d-lr or --k 2, or a lower --g-lr"),
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


def finite(x: torch.Tensor) -> torch.Tensor:
    """x as rows in float64 on the CPU (where a mixture keeps its centres), a non-finite coordinate moved far from
    every data point (1e30)."""
    x = x.reshape(len(x), -1).double().cpu()
    return torch.where(torch.isfinite(x), x, torch.full_like(x, 1e30))


class Yardstick:
    """The data's scale that G's fixed-noise samples are measured against, drawn once from a stream of its own:
    the mean pairwise distance of data samples (``spread``), 1,024 data samples (``anchors``) and, for data whose
    modes are known (``modes``: centres and σ), what the data's own samples score: the modes 2,500 of them cover,
    and precision, recall, density and coverage between two independent draws of 256 (``itself``: what a G with
    p_g = p_data would score, sampling error and all). The first 256 anchors are the real set of precision."""

    @torch.no_grad()
    def __init__(self, data):
        gen = torch.Generator(device=getattr(data, "device", torch.device("cpu"))).manual_seed(DIVERSITY_SEED)
        first = data.to_data_space(data.sample(DIVERSITY_SAMPLES, gen))
        self.spread = mean_pairwise_distance(first)
        self.anchors = data.to_data_space(data.sample(ANCHORS, gen)).reshape(ANCHORS, -1).double()
        self.modes = (data.centres, data.std) if hasattr(data, "centres") else None
        if self.modes:
            self.itself = precision_recall(self.reals, first.reshape(DIVERSITY_SAMPLES, -1))
            many = data.to_data_space(data.sample(MODE_SAMPLES, gen)).reshape(MODE_SAMPLES, -1)
            self.data_modes = mode_metrics(many, *self.modes)["modes"]

    @property
    def reals(self) -> torch.Tensor:
        return self.anchors[:DIVERSITY_SAMPLES]

    @torch.no_grad()
    def off_data(self, x: torch.Tensor) -> float:
        """The share of the samples x (data space) farther from every anchor than the data's spread (≈ 0 at
        p_g = p_data); a non-finite sample is off the data."""
        x = x.reshape(len(x), -1).double()
        nearest = torch.cdist(x, self.anchors.to(x.device)).min(1).values
        return float((~(nearest <= self.spread)).double().mean())

    @torch.no_grad()
    def against_the_data(self, x: torch.Tensor) -> dict[str, float]:
        """For data with known modes: precision, recall, density and coverage (k = 3) of the samples x (data space)
        against the 256 fixed data samples, each over the data's own value (1 ≈ as good as another draw of p_data);
        a non-finite sample is in no ball."""
        pr = precision_recall(self.reals.cpu(), finite(x))
        return {key: pr[key] / max(self.itself[key], 1e-12) for key in ("precision", "recall", "density", "coverage")}

    @torch.no_grad()
    def modes_covered(self, x: torch.Tensor) -> float:
        """The modes the samples x (data space) cover over the modes as many data samples cover (a non-finite
        sample is near no mode)."""
        return mode_metrics(finite(x), *self.modes)["modes"] / max(self.data_modes, 1)

    def measure(self, trainer) -> dict[str, float]:
        """``diversity`` (mean pairwise distance over the data's: 1 for a G as spread out as the data, → 0 as it
        collapses), ``off_data`` and, for data with known modes, :meth:`against_the_data` of G's samples on the
        fixed noise batch and :meth:`modes_covered` of 2,500 more on a fixed noise batch of their own."""
        x = generate(trainer, DIVERSITY_SAMPLES, seed=trainer.cfg.seed + DIVERSITY_SEED)
        out = {"diversity": mean_pairwise_distance(x) / max(self.spread, 1e-12), "off_data": self.off_data(x)}
        if self.modes:
            many = generate(trainer, MODE_SAMPLES, seed=trainer.cfg.seed + DIVERSITY_SEED + 1)
            out.update(self.against_the_data(x), modes_covered=self.modes_covered(many))
        return out


class HealthMonitor:
    """Feed it each metrics record (:meth:`update`); it returns the conditions that have just set in or cleared."""

    def __init__(self, objective, g_loss: str = "non-saturating", k: int = 1, steps: int | None = None):
        self.two_player_probability = objective.output_is_probability  # D(x) ∈ [0, 1]: P(real), the 2014 game's
        bounds = objective.output_range  # D's units; the swing is measured in them (unbounded critics: not at all)
        self.swing = SWING * (bounds[1] - bounds[0]) if bounds else None
        self.g_loss, self.k = g_loss, k
        self.judged_from = JUDGED_FROM * steps if steps else 0  # modes covered and precision: late in the run
        self.records: list[dict] = []
        self.active: dict[str, int] = {}  # condition -> records it has held since it was reported
        self.findings: list[Finding] = []  # reported and cleared, in order

    def update(self, record: dict) -> list[Finding]:
        self.records = (self.records + [record])[-(2 * WINDOW + 1):]
        new = []
        for condition in CONDITIONS:
            measured = self._check(condition)
            if measured is None:
                if condition in self.active:
                    del self.active[condition]
                    new.append(Finding(condition, record["step"], self._now(condition, record), cleared=True))
            elif condition in self.active:
                self.active[condition] += 1
            else:
                self.active[condition] = 0
                new.append(Finding(condition, record["step"], measured, *self._advice(condition)))
        self.findings += new
        return new

    def persistent(self, condition: str) -> bool:
        """Whether ``condition`` has held for WINDOW more records since it was reported (2·WINDOW in all)."""
        return self.active.get(condition, -1) >= WINDOW

    def replay(self, records: list[dict]) -> list[Finding]:
        """Every finding and clearing over a whole metrics log (the report; a resumed run's monitor catches up)."""
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

    @staticmethod
    def _now(condition: str, r: dict) -> str:
        """What the record that cleared ``condition`` measured."""
        try:
            if condition in ("saturation", "oscillation"):
                return f"mean D(G(z)) = {r['d_fake']:.3g}"
            if condition == "discriminator wins":
                return f"mean D(x) = {r['d_real']:.3f}, D(G(z)) = {r['d_fake']:.3g}, V̂ = {r['value']:.3f}"
            if condition == "collapse":
                return f"the samples are {r['diversity']:.1%} as far apart as the data's"
            if condition == "mode dropping":
                return f"modes covered {r['modes_covered']:.0%} of the data's own draw"
            if condition == "imprecise samples":
                return f"precision {r['precision']:.2f} of the data's"
            return f"{r['off_data']:.1%} of the samples off the data"
        except (KeyError, TypeError):
            return "no longer measured"

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
            held = self._held(lambda r: r["value"] > WIN_VALUE)
            if held:
                r = held[-1]
                return (f"mean D(x) = {r['d_real']:.3f}, D(G(z)) = {r['d_fake']:.2g}, V̂ = {r['value']:.3f} "
                        f"(at the optimum: ½, ½ and −1.386; D wins above {WIN_VALUE:.3f})")
        if condition == "collapse":
            held = self._held(lambda r: r["diversity"] < COLLAPSED_DIVERSITY)
            if held and held[-1]["diversity"] - min(r["diversity"] for r in held) < RISING:
                return (f"the samples of a fixed noise batch are {held[-1]['diversity']:.1%} as far apart as the "
                        f"data's (mean pairwise distance), for {WINDOW} records")
        if condition == "off the data":
            held = self._held(lambda r: r["off_data"] > OFF_DATA)
            if held:
                return (f"{held[-1]['off_data']:.1%} of the samples of a fixed noise batch are farther from every data "
                        f"sample than the data's spread (≈ 0% at p_g = p_data), for {WINDOW} records")
        if condition == "mode dropping" and self.records[-1]["step"] >= self.judged_from:
            held = self._held(lambda r: r["modes_covered"] < 1)
            if held:
                return (f"{MODE_SAMPLES} of G's samples on a fixed noise batch cover "
                        f"{held[-1]['modes_covered']:.0%} of the modes that as many data samples cover (a mode: a "
                        f"sample within 3σ of its centre), for {WINDOW} records")
        if condition == "imprecise samples" and self.records[-1]["step"] >= self.judged_from:
            held = self._held(lambda r: r["precision"] < LOW_PRECISION)
            if held:
                return (f"precision {held[-1]['precision']:.2f} of the data's own: the share of G's fixed-noise "
                        f"samples inside some data sample's k-th nearest-neighbour ball (k = 3), over that share "
                        f"between two draws of p_data (1 at p_g = p_data); below {LOW_PRECISION} for {WINDOW} records")
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
