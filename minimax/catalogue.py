"""What a run can name besides the games and metrics: players, data sets, priors, the training loop's options, the
logged statistics, by name.

This module imports nothing, so the configuration's checks and every ``minimax ... --help`` read it without
loading torch. It is the one home of these names: each implementation imports its list from here (the players
from :mod:`minimax.players`, the data sets from :mod:`minimax.data`, ...), and ``tests/test_registry.py`` holds
each name to the object that implements it. The games and the metrics declare themselves in their own modules
(:mod:`minimax.registry` reads them); their declarations may name this module's constants.
"""
from __future__ import annotations

# the games (minimax.games; each declares itself in its module, minimax.registry): the 2014 game's two generator losses
GENERATOR_LOSSES: tuple[str, ...] = ("non-saturating", "saturating")

# The goal every game's preset is measured against on the held-out seeds 2-6 (issue #40): on a 2-D set the mean
# modes covered and the mean fraction of samples within 3σ of a mode (benchmarks/compare_games.py); on MNIST the
# game's FID at most this multiple of the 2014 game's at equal wall time (benchmarks/compare_games_mnist.py).
GAME_GOALS: dict[str, tuple[float, float]] = {"ring": (7.5, 0.80), "grid": (22.0, 0.75)}
MNIST_FID_GOAL = 1.5
# the seeds the presets were tuned on (benchmarks/sweep_games.py); tables of held-out results refuse them
TUNING_SEEDS: tuple[int, ...] = (0, 1)
# The 2014 game's recipe on the ring (minimax, and f-js, whose losses are the 2014 game's plus constants), over the
# ring's preset (12,000 iterations, 256-wide players): 8/8 modes and 93.2% of samples within 3σ on held-out seeds
# 3-7 in 0.41x the time (docs/results-toy.md, "The ring per CPU-second")
RING_2014: dict = {"steps": 8000, "g_hidden": (128, 128, 128), "d_hidden": (128, 128, 128)}
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
CONDITIONS: tuple[str, ...] = ("none", "concat", "projection")

# the data (minimax.data) and the noise (minimax.data.prior)
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
