"""What a run can name: the games, players, data sets, priors and the training loop's options, by name.

This module imports nothing, so the configuration's checks and every ``minimax ... --help`` read it without
loading torch. It is the one home of these names: each implementation imports its list from here (the games
from :mod:`minimax.games`, the players from :mod:`minimax.players`, ...), and ``tests/test_registry.py`` holds
each name to the object that implements it.
"""
from __future__ import annotations

from dataclasses import dataclass

# the games (minimax.games): the 2014 game, its family, the f-GANs and the relativistic pair
GENERATOR_LOSSES: tuple[str, ...] = ("non-saturating", "saturating")  # the 2014 game's two generator losses
F_DIVERGENCES: tuple[str, ...] = ("kl", "reverse-kl", "pearson", "hellinger", "js")  # f-GAN's; "gan" is `minimax`
F_GAMES: tuple[str, ...] = tuple(f"f-{name}" for name in F_DIVERGENCES)
GAMES: tuple[str, ...] = ("minimax", "lsgan", "hinge", "wgan-gp") + F_GAMES + ("rpgan", "ragan")
# games whose generator has the two forms (the saddle point as written, and §3's heuristic)
TWO_GENERATOR_LOSSES: tuple[str, ...] = ("minimax",) + F_GAMES
# options that belong to some games (field -> the games that read it; the others refuse it), and the games whose
# gradient penalty is per example (so packing and a batch-normalised D, which couple the examples, are refused)
GAME_OPTIONS: dict[str, tuple[str, ...]] = {"g_loss": TWO_GENERATOR_LOSSES, "label_smoothing": ("minimax",),
                                            "gp_weight": ("wgan-gp",),
                                            # adaptive augmentation needs D's decision on a real image: the games
                                            # whose objects have real_sign (a raw score's sign, or a pair's)
                                            "ada_target": ("minimax", "hinge", "rpgan", "ragan")}
PER_EXAMPLE_PENALTY: tuple[str, ...] = ("wgan-gp",)

# The papers' own settings, applied under anything the user sets (above the dataset's preset):
# WGAN-GP, Gulrajani et al. (2017), Algorithm 1: λ = 10, n_critic = 5, Adam α = 1e-4, β = (0, 0.9);
# no BatchNorm in the critic (§4: the penalty is per example), layer normalisation instead.
GAME_PRESETS: dict[str, dict] = {
    "wgan-gp": dict(k=5, lr=1e-4, beta1=0.0, beta2=0.9, gp_weight=10.0, d_norm="layer"),
}
# Measured settings per game on one data set, above everything else preset (dataset < model < game < game on the
# data set): chosen by benchmarks/sweep_games.py on seeds 0-1 among candidates that follow the game's paper, and
# measured on the held-out seeds 2-6 (docs/results-toy.md, "Every game with its preset").
GAME_DATA_PRESETS: dict[tuple[str, str], dict] = {
    # the least-squares game (Mao et al. 2017 train with Adam and a small step): on the ring a tenth of the 2014
    # preset's step; on the grid nothing swept beat the 2014 preset's step (measured at 6,000 iterations)
    ("lsgan", "ring"): dict(steps=6000, lr=1e-4),
    ("lsgan", "grid"): dict(steps=6000),
    # hinge (Lim & Ye 2017; Miyato et al. 2018 train it with Adam 1e-4 to 2e-4): a tenth of the 2014 preset's step
    ("hinge", "ring"): dict(steps=6000, lr=1e-4),
    ("hinge", "grid"): dict(steps=6000, lr=3e-4),
    # WGAN-GP's own toy settings (Gulrajani et al. 2017, gan_toy.py): λ = 0.1 ("smaller lambda seems to help for
    # toy tasks"), Adam β = (0.5, 0.9); the step 1e-3 decayed to 0 (the 2014 preset's), 5 critic steps on the grid,
    # 1 on the ring (as good there, at a fifth of the cost)
    ("wgan-gp", "ring"): dict(steps=6000, k=1, gp_weight=0.1, lr=1e-3, beta1=0.5, beta2=0.9),
    ("wgan-gp", "grid"): dict(steps=2000, k=5, gp_weight=0.1, lr=1e-3, beta1=0.5, beta2=0.9),
    # MNIST (measured with DCGAN players at equal wall time, benchmarks/compare_games_mnist.py): one critic step
    # at DCGAN's step 2e-4 with β = (0.5, 0.9), over the paper's λ = 10 and layer norm; the paper's 5 critic steps
    # at 1e-4 make an iteration 7-8x the 2014 game's and stay far behind it in the same minutes (FID 610-737 vs 77-82)
    ("wgan-gp", "mnist"): dict(k=1, lr=2e-4, beta1=0.5, beta2=0.9),
    # the f-GANs (Nowozin et al. 2016 give no settings for these sets): the step stepped down, or spectral
    # normalisation in D (Miyato et al. 2018), which bounds T(x) and so the conjugate f*(T(x)) in D's loss
    # (f-reverse-kl on the ring diverged on 3 of 4 tuning runs without it, on none with it)
    ("f-kl", "ring"): dict(steps=6000, lr=3e-4),
    ("f-kl", "grid"): dict(steps=6000, lr=1e-4, spectral_norm="on"),
    ("f-reverse-kl", "ring"): dict(steps=6000, lr=1e-4, spectral_norm="on"),
    ("f-reverse-kl", "grid"): dict(steps=6000, lr=3e-4),
    ("f-pearson", "ring"): dict(steps=6000, lr=3e-4),
    ("f-pearson", "grid"): dict(steps=6000, lr=1e-4, spectral_norm="on"),
    ("f-hellinger", "ring"): dict(steps=6000, lr=1e-4, spectral_norm="on"),
    ("f-hellinger", "grid"): dict(steps=6000, lr=1e-4, spectral_norm="on"),
    # the relativistic games on the grid: R1 + R2 at γ = 0.1 (RpGAN + R1 + R2 is R3GAN's game, Huang et al. 2024);
    # under the data set's preset alone they were precise but dropped modes (21.6 and 19.6 of 25 held out)
    ("rpgan", "grid"): dict(r1=0.1, r2=0.1),
    ("ragan", "grid"): dict(r1=0.1, r2=0.1),
    # on MNIST (DCGAN players, equal wall time) spectral norm with no BatchNorm in D, SN-GAN's discriminator (Miyato
    # et al. 2018): under DCGAN's BatchNorm D f-hellinger collapsed (FID 836-891 on the tuning seeds, 8x the 2014
    # game's) and f-reverse-kl scored 1.6x the 2014 game's; with it 1.2x and 1.3x
    ("f-reverse-kl", "mnist"): dict(spectral_norm="on", d_norm="none"),
    ("f-hellinger", "mnist"): dict(spectral_norm="on", d_norm="none"),
}
# The goal every game's preset is measured against on the held-out seeds 2-6 (issue #40): on a 2-D set the mean
# modes covered and the mean fraction of samples within 3σ of a mode (benchmarks/compare_games.py); on MNIST the
# game's FID at most this multiple of the 2014 game's at equal wall time (benchmarks/compare_games_mnist.py).
GAME_GOALS: dict[str, tuple[float, float]] = {"ring": (7.5, 0.80), "grid": (22.0, 0.75)}
MNIST_FID_GOAL = 1.5
# the seeds the presets were tuned on (benchmarks/sweep_games.py); tables of held-out results refuse them
TUNING_SEEDS: tuple[int, ...] = (0, 1)
# Where a game stays below the goal of its data set (docs/results-toy.md) on the held-out seeds: the
# measured reason, shown in `minimax train --help` beside the game's name.
GAME_SHORTFALLS: dict[tuple[str, str], str] = {
    ("lsgan", "ring"): "drops modes: 6.8 of 8 on seeds 2-6; a smaller step kept more modes and fewer precise samples",
    ("lsgan", "grid"): "drops modes: 16.0 of 25 on seeds 2-6, though 84.5% of samples are precise",
    ("hinge", "grid"): "19.0 of 25 modes on seeds 2-6 and only 8.3% of samples within 3σ; the rest lie between "
                       "the modes",
    ("wgan-gp", "grid"): "24.0 of 25 modes on seeds 2-6 but only 14.1% of samples within 3σ; the rest lie between "
                         "the modes",
    ("f-kl", "grid"): "16.0 of 25 modes on seeds 2-6 and 2.5% of samples within 3σ; the rest lie between the modes "
                      "(without spectral norm no sample reached a mode)",
    ("f-reverse-kl", "grid"): "13.8 of 25 modes on seeds 2-6 and 24.4% of samples within 3σ",
    ("f-pearson", "grid"): "23.2 of 25 modes on seeds 2-6 but only 4.2% of samples within 3σ; the rest lie between "
                           "the modes",
    ("f-reverse-kl", "ring"): "8 of 8 modes on seeds 2-6 but 74.2% of samples within 3σ; without spectral norm it "
                              "diverged on 3 of 4 tuning runs",
    ("f-hellinger", "ring"): "8 of 8 modes on seeds 2-6 but 76.9% of samples within 3σ",
    ("f-hellinger", "grid"): "23.4 of 25 modes on seeds 2-6 but only 12.5% of samples within 3σ; the rest lie "
                             "between the modes",
    # swept later (R1 + R2 chosen on seeds 0-1, where ragan reached 78.9%): precise on some seeds, not on others
    ("ragan", "grid"): "24.8 of 25 modes on seeds 2-6 but 66.8% of samples within 3σ (42-85% by seed) with R1 + R2; "
                       "without them 89.3% but 19.6 of 25 modes",
}

# how the logged statistics are named when printed beside their optimum (CLI, report; a game may rename D's)
SYMBOLS = {"value": "V", "d_loss": "L_D", "g_loss": "L_G", "d_real": "D(x)", "d_fake": "D(G(z))"}

# every statistic a run logs to metrics.jsonl that is drawn or sent to TensorBoard: its label in the plots and
# its TensorBoard tag. A game's statistics and diagnostics and every penalty must have a row (tested).
STATISTICS: dict[str, tuple[str, str]] = {
    "value": ("$\\hat V$", "game/V"),
    "value_real": ("$E \\log D(x)$", "game/V_real_term E[log D(x)]"),
    "value_fake": ("$E \\log(1 - D(G(z)))$", "game/V_fake_term E[log(1-D(G(z)))]"),
    "d_loss": ("$L_D$", "loss/D"),
    "g_loss": ("$L_G$", "loss/G"),
    "total_loss": ("total = $L_D - \\log D(G(z))$", "loss/total"),
    "d_real": ("mean $D(x)$", "D/mean D(x)"),
    "d_fake": ("mean $D(G(z))$", "D/mean D(G(z))"),
    "g_grad_norm_saturating": ("saturating (the game as written)", "G_grad_norm/saturating"),
    "g_grad_norm_non_saturating": ("non-saturating (the heuristic)", "G_grad_norm/non_saturating"),
    "g_grad_norm": ("$L_G$", "G_grad_norm/L_G"),
    "gradient_penalty": ("gradient penalty $E(\\|\\nabla D(\\hat x)\\| - 1)^2$", "loss/gradient_penalty"),
    "r1_penalty": ("R1 $E\\|\\nabla_x D(x)\\|^2$", "loss/R1_penalty"),
    "r2_penalty": ("R2 $E\\|\\nabla_x D(G(z))\\|^2$", "loss/R2_penalty"),
    "augment_p": ("augmentation probability p", "augment/p"),
    "steps_per_sec": ("steps per second", "speed/steps_per_sec"),
    "diversity": ("diversity of G's samples / the data's", "G/diversity (fixed-noise samples vs data)"),
}
PENALTIES: tuple[str, ...] = ("gradient_penalty", "r1_penalty", "r2_penalty")  # minimax.games.regularizers

# the players (minimax.players) and how a conditional one takes its class
MODELS: tuple[str, ...] = ("mlp", "paper", "dcgan", "veegan", "r3gan")
CONDITIONS: tuple[str, ...] = ("none", "concat", "projection")
CONDITION_FOR_MODEL = {"mlp": "concat", "paper": "concat", "dcgan": "projection", "r3gan": "projection"}

# the data (minimax.data) and the noise (minimax.data.prior)
TOY_DATASETS: tuple[str, ...] = ("ring", "grid", "gauss1d")
IMAGE_DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist", "stacked-mnist", "cifar10", "folder")
DATASETS: tuple[str, ...] = (*TOY_DATASETS, *IMAGE_DATASETS)
MNIST_FAMILY: tuple[str, ...] = ("mnist", "fashion-mnist")
WITH_TEST_SPLIT: tuple[str, ...] = (*MNIST_FAMILY, "cifar10")
STACKED = "stacked-mnist"
IMAGE_SETS: tuple[str, ...] = (*WITH_TEST_SPLIT, STACKED, "folder")  # what the Inception features take
DOWNLOADS: tuple[str, ...] = ("mnist", "fashion-mnist", "cifar10")  # what `minimax download` fetches
PRIORS: tuple[str, ...] = ("normal", "uniform")
PATHS: tuple[str, ...] = ("auto", "slerp", "lerp")  # paths through noise space (sample --interpolate)

# DiffAugment's policies for D's inputs (minimax.algorithm.augment)
AUGMENT_POLICIES: tuple[str, ...] = ("color", "translation", "cutout")


def parse_policies(text: str) -> tuple[str, ...]:
    """'color,translation' -> ('color', 'translation'); 'none' -> (). Raises ValueError naming a bad policy."""
    if text == "none":
        return ()
    names = tuple(n.strip() for n in text.split(","))
    for n in names:
        if n not in AUGMENT_POLICIES:
            raise ValueError(f"unknown augmentation policy {n!r}; choose from {', '.join(AUGMENT_POLICIES)} "
                             "(comma-separated) or 'none'")
    if len(set(names)) != len(names):
        raise ValueError(f"augmentation policy named twice in {text!r}")
    return names


# Algorithm 1 (minimax.algorithm): the update order, the optimisers, the learning-rate schedules
UPDATES: tuple[str, ...] = ("alternating", "simultaneous")  # Algorithm 1, and G from the D step's G(z)
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd")
SCHEDULES: tuple[str, ...] = ("none", "linear")


@dataclass(frozen=True)
class Metric:
    """A score ``minimax eval NAME`` writes to ``RUN_DIR/NAME.json``: what it measures (the command's help),
    the data sets it takes (the first: ``--real``'s default), its headline fields (the table's columns, checked
    finite), the report's rows (a label and a format of the record's numbers; ``p[...]``: its protocol's
    fields), whether it takes ``--features`` (and which by default) and ``--real-dir``, N without ``--n``, and its
    own options (flag, default or None for a switch, help). Its runner (what it scores against what, the printed
    lines, its score fields and the refusals it makes before any work) is the module ``minimax.evaluation.<runner>``
    (``module``); its estimator lives in :mod:`minimax.metrics`."""

    name: str
    help: str
    datasets: tuple[str, ...]
    headline: tuple[str, ...]
    report: tuple[tuple[str, str], ...] = ()
    features: bool = False  # the classifier's features or Inception-v3's (--features)
    reference: bool = False  # compared with a reference set: the test split, or --real-dir
    default_features: str = "classifier"
    default_n: int = 10_000
    options: tuple[tuple[str, str | None, str], ...] = ()
    runner: str = ""  # the runner's module under minimax/evaluation/, when not the metric's name

    @property
    def file(self) -> str:
        return f"{self.name}.json"

    @property
    def module(self) -> str:
        return f"minimax.evaluation.{self.runner or self.name}"


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("parzen", "Parzen-window log-likelihood on the MNIST test set (paper's Table 1)", MNIST_FAMILY,
           ("parzen_ll",), (("Parzen log-likelihood", "{parzen_ll:.1f} ± {parzen_se:.1f} nats (σ = {sigma:.3f})"),)),
    Metric("fid", "Frechet distance of features (classifier, or --features inception) to the test split or "
           "--real-dir", IMAGE_SETS, ("fid",),
           (("FID", "{fid:.2f} (N = {p[n_samples]} samples, {p[features]} features)"),), features=True, reference=True),
    Metric("kid", "Kernel Inception Distance: unbiased MMD^2 (cubic kernel), mean ± std over subsets", IMAGE_SETS,
           ("kid",), (("KID", "{kid:.5f} ± {kid_std:.5f} (N = {p[n_samples]} samples, {p[features]} features)"),),
           features=True, reference=True,
           options=(("--subsets", "100", "number of subsets"),
                    ("--subset-size", "auto", "samples per subset; auto: 1000, or the smaller set's size when it has "
                                              "fewer images (said in the record)"))),
    Metric("pr", "precision, recall, density and coverage (k-NN manifolds, k = 3)", IMAGE_SETS,
           ("precision", "recall", "density", "coverage"),
           (("precision, recall", "{precision:.3f}, {recall:.3f} (density {density:.3f}, coverage {coverage:.3f}; "
             "{p[features]} features)"),), features=True, reference=True),
    Metric("is", "Inception Score, mean ± std over splits (--features inception)", IMAGE_SETS, ("is",),
           (("Inception Score", "{is:.3f} ± {is_std:.3f} (N = {p[n_samples]} samples)"),), features=True,
           default_features="inception", options=(("--splits", "10", "number of splits"),), runner="inception_score"),
    Metric("modes", "Stacked MNIST: modes covered of 1,000 and KL to uniform (N = 26,000)", (STACKED,),
           ("modes", "kl"), (("Stacked MNIST modes", "{modes:.0f} of 1000, KL to uniform {kl:.3f} nats"),),
           default_n=26_000,  # VEEGAN's and PacGAN's N
           options=(("--every-checkpoint", None,
                     "also score every checkpoint the run kept: modes against iterations"),)),
    Metric("conditional", "conditional runs: accuracy of each class's samples under the feature classifier, and "
           "intra-class FID", WITH_TEST_SPLIT, ("accuracy_mean", "intra_fid_mean"),
           (("conditional accuracy", "{accuracy_mean:.4f} (the classifier on real test images: "
             "{classifier_test_accuracy:.4f})"), ("intra-class fid", "{intra_fid_mean:.2f}"))),
)}
