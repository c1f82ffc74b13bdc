"""Training configuration: one dataclass that is the single source of every knob.

Each field carries its help text and its constraint; the CLI flags
(``--batch-size``), the config-file keys (``batch_size``) and validation are all
derived from it, so a knob cannot exist in one place and be missing in another.
The names a knob may take come from minimax.catalogue.

There is one way settings become a configuration, used by the CLI and by Python alike (ORDER):

    the defaults < the presets (dataset < model < game < game on that dataset) < a config file < flags / arguments

``TrainConfig(dataset="grid", steps=5000)`` fills every field it is not given from the
grid preset (PRESETS), then from the defaults below; ``TrainConfig.resolve("f.toml",
batch_size=300)`` adds a file under the keyword arguments. Validation runs once, on the
merged result; ``cfg.sources`` says where each value came from (``minimax train --print-config``).
A run's ``config.json`` holds every field, so reading it back applies no preset.

Long by design: every knob is one field here with its help text and its check, so that the flags, the file
keys and validation cannot drift apart; splitting the fields would make two sources.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import registry
from .catalogue import (
    AUGMENT_POLICIES,
    CONDITIONS,
    GAME_GOALS,
    MNIST_FID_GOAL,
    OPTIMIZERS,
    PRIORS,
    SCHEDULES,
    TUNING_SEEDS,
    UPDATES,
    parse_policies,
)
from .errors import MAX_ERROR_CHARS, MinimaxError
from .files import is_path_component

# the games as they declare themselves in their modules (minimax.registry): names, presets, where each stays below
# a data set's goal, the options each reads, and the games whose own penalty is per example
GAMES: tuple[str, ...] = tuple(registry.games())
GAME_PRESETS: dict[str, dict] = {n: g.preset for n, g in registry.games().items() if g.preset}
GAME_DATA_PRESETS: dict[tuple[str, str], dict] = {(n, d): p for n, g in registry.games().items()
                                                  for d, p in g.on.items()}
GAME_SHORTFALLS: dict[tuple[str, str], str] = {(n, d): why for n, g in registry.games().items()
                                               for d, why in g.shortfalls.items()}
PER_EXAMPLE_PENALTY: tuple[str, ...] = registry.games_with("per_example_penalty")
# the player architectures as they declare themselves (minimax/players/), and the options of both kinds: each a
# setting of the run, refused for a game or a model that does not read it
MODELS: tuple[str, ...] = tuple(registry.players())
COMPONENT_OPTIONS: dict[str, registry.Option] = registry.registry().options
GAME_OPTIONS = tuple(o for o in COMPONENT_OPTIONS if registry.owner(o) == "game")
PLAYER_OPTIONS = tuple(o for o in COMPONENT_OPTIONS if registry.owner(o) == "model")

# the data sets as they declare themselves (minimax/data/), in their order, and which hold images
DATASETS: tuple[str, ...] = tuple(registry.datasets())
IMAGE_DATASETS: tuple[str, ...] = registry.dataset_names(images=True)
DEFAULT_DATASET = "ring"
SHORT_RUN, SHORT_RUN_RECORDS = 1000, 10  # a run shorter than this logs every steps / SHORT_RUN_RECORDS by default

# Measured settings per dataset (each data set's "preset", in its module), applied under anything the user sets
# (file or flag). The game and the losses are the same for every preset; only budgets and step sizes differ.
PRESETS: dict[str, dict] = {n: {k: tuple(v) if isinstance(v, list) else v for k, v in d.preset.items()}
                            for n, d in registry.datasets().items() if d.preset}


# Measured settings per player architecture, over the dataset's preset (each player's "preset", in its module)
MODEL_PRESETS: dict[str, dict] = {n: p.preset for n, p in registry.players().items() if p.preset}


# options that one kind of component reads and every other ignores: field -> (the field naming the component, the
# components that read it). Set for another, they are refused (a fresh run's check; a stored run loads as it was).
OPTION_OWNERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "data_dir": ("dataset", IMAGE_DATASETS),  # the built-in 2-D/1-D sets read no files
    **{name: ("model", registry.readers(name)) for name in PLAYER_OPTIONS},  # (a player's own: its declaration)
    "augment": ("dataset", IMAGE_DATASETS), "train_images": ("dataset", IMAGE_DATASETS),  # images only
    "momentum": ("optimizer", ("sgd",)), "beta1": ("optimizer", ("adam",)), "beta2": ("optimizer", ("adam",)),
}


# A config file may group its settings by what they configure, one section per component: the section's ``name``
# picks the component (``[optimizer] name = "sgd"``) and its other keys are that component's options; flat keys
# (as in a run's config.json) stay valid. section -> (the field its name sets, or None; the fields it holds).
SECTIONS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "data": ("dataset", ("data_dir", "image_size", "train_images")),
    "players": ("model", ("latent_dim", "prior", *PLAYER_OPTIONS, "g_output_bias", "spectral_norm", "condition",
                          "class_names", "pack")),
    "game": ("game", (*GAME_OPTIONS, "r1", "r2", "reg_every")),
    "algorithm": (None, ("steps", "batch_size", "k", "update")),
    "optimizer": ("optimizer", ("lr", "g_lr", "d_lr", "lr_decay", "beta1", "beta2", "momentum")),
    "augmentation": (None, ("augment", "augment_p", "ada_target")),
    "averaging": (None, ("g_ema", "g_ema_kimg", "g_ema_rampup", "g_uniform_average_from")),
    "run": (None, ("seed", "device", "log_every", "checkpoint_every", "keep_checkpoints", "snapshots",
                   "eval_samples", "on_nan", "on_collapse", "tensorboard", "compile", "amp", "out")),
}


def flatten_sections(d: Any, where: str) -> Any:
    """A config file's settings with its sections (SECTIONS) unfolded into flat keys; a key set twice (flat and
    in a section) or a key in the wrong section is a one-line error."""
    if not isinstance(d, dict):
        return d
    flat: dict = {}
    for key, value in d.items():
        if key in SECTIONS and isinstance(value, dict):
            names, fields = SECTIONS[key]
            for sub, v in value.items():
                target = names if sub == "name" and names else sub
                if target not in fields and target != names:
                    home = _home(sub)
                    raise MinimaxError(f"{where}: [{key}] has no setting {sub!r}"
                                       + (f" (it belongs in [{home}])" if home else
                                          f"; its settings: {', '.join(('name',) * bool(names) + fields)}"))
                if target in flat:
                    raise MinimaxError(f"{where}: {target!r} is set twice ([{key}] and elsewhere)")
                flat[target] = v
        else:
            if key in flat:
                raise MinimaxError(f"{where}: {key!r} is set twice ([{_home(key)}] and elsewhere)")
            flat[key] = value
    return flat


def _home(key: str) -> str | None:
    """The section that holds the setting ``key`` (None: no setting of that name)."""
    return next((s for s, (n, f) in SECTIONS.items() if key in f or key == n), None)


SOURCES = "sources"  # the key of a run's config.json that says where each value came from (not a setting)
ORDER = ("default", "dataset preset", "model preset", "game preset", "game-on-dataset preset", "config file",
         "flag or argument")  # where a value may come from, each over the last


def preset_layers(settings: dict) -> list[tuple[str, dict]]:
    """The presets under ``settings``, lowest first, each named for where it comes from: the dataset's, the
    model's, the game's, the game's on that dataset."""
    name, game = settings.get("dataset", DEFAULT_DATASET), settings.get("game", "minimax")
    dataset = PRESETS.get(name, {})
    model = settings.get("model", dataset.get("model", "mlp"))
    return [(f"dataset preset ({name})", dataset), (f"model preset ({model})", MODEL_PRESETS.get(model, {})),
            (f"game preset ({game})", GAME_PRESETS.get(game, {})),
            (f"game-on-dataset preset ({game} on {name})", GAME_DATA_PRESETS.get((game, name), {}))]


def _preset(settings: dict) -> dict:
    """The presets under ``settings`` merged (each layer of :func:`preset_layers` above the last)."""
    merged: dict = {}
    for _, layer in preset_layers(settings):
        merged.update(layer)
    return merged


def presets_of(name: str) -> list[str]:
    """'ring: 256', 'dcgan: 64', 'lsgan on grid: 0.0003', ...: the presets that set the field ``name``."""
    return [f"{_preset_name(key)}: {_show(p[name])}"
            for table in (PRESETS, MODEL_PRESETS, GAME_PRESETS, GAME_DATA_PRESETS)
            for key, p in table.items() if name in p]


def _preset_name(key: str | tuple[str, str]) -> str:
    """A preset table's key in words: 'ring', 'dcgan', 'lsgan on grid'."""
    return key if isinstance(key, str) else " on ".join(key)


def presets_reference() -> list[str]:
    """The presets as docs/reference.md shows them (Markdown lines): each layer's table in the order they stack, the
    games' goal on the held-out seeds, and where a game stays below it with the measured reason."""
    def settings(p: dict) -> str:  # as flags: `--lr-decay linear`, `--g-hidden 64,64`
        return ", ".join(f"`--{k.replace('_', '-')} {','.join(map(str, v)) if isinstance(v, tuple) else v}`"
                         for k, v in p.items())

    lines = ["Each value is resolved in this order, each over the last: " + " < ".join(ORDER) + ". `minimax train "
             "... --print-config` shows a run's values and the source of each.", "",
             "| layer | for | settings |", "| --- | --- | --- |"]
    for layer, table in (("dataset", PRESETS), ("model", MODEL_PRESETS), ("game", GAME_PRESETS),
                         ("game on dataset", GAME_DATA_PRESETS)):
        lines += [f"| {layer} | {_preset_name(k)} | {settings(p)} |" for k, p in table.items()]
    tuned = {g for g, _ in GAME_DATA_PRESETS}
    untuned = [g for g in GAMES if g not in tuned]
    lines += ["", "The games' presets on a data set were chosen by `benchmarks/sweep_games.py` on the tuning seeds "
              f"{', '.join(map(str, TUNING_SEEDS))} (docs/results-toy.md), the 2014 game's on the ring (f-js's too: "
              "the same losses) by the ring's study of CPU time on seeds 0-2, reported on seeds 3-7"
              + (f"; {', '.join(untuned)} take the data sets' presets as they are" if untuned else "") + "."]
    if GAME_SHORTFALLS:
        goals = ", ".join(f"{d} ≥ {modes:g} modes and ≥ {100 * hq:g}% of samples within 3σ"
                          for d, (modes, hq) in GAME_GOALS.items())
        lines += ["", f"The goal on the held-out seeds: {goals}; MNIST: FID ≤ {MNIST_FID_GOAL:g}× the 2014 game's at "
                  "equal wall time. Below it:", "", "| game on data set | measured |", "| --- | --- |"]
        lines += [f"| {g} on {d} | {why} |" for (g, d), why in GAME_SHORTFALLS.items()]
    return lines


def _opt(help: str, check: Callable[[Any], bool] | None = None, need: str = "", choices=None, more: str = "", **kw):
    """A TrainConfig field: ``help`` is its line in ``--help``, ``more`` the rest of its meaning (docs/reference.md
    shows both), ``check``/``need`` its range (the check and the words of its error), ``choices`` its names."""
    meta = {"help": help, "more": more, "check": check, "need": need, "choices": choices}
    return field(metadata=meta, **kw)


def _per_example_fix(model: str) -> str:
    """What to use instead of a model whose D normalises across the batch: its option's other values, or the models
    whose D does not (as each declares it)."""
    when = registry.players()[model].d_normalises_batch
    if isinstance(when, dict):
        return "; ".join(f"use {k} " + " or ".join(repr(c) for c in COMPONENT_OPTIONS[k].choices if c != v)
                         for k, v in when.items())
    others = [n + (" with " + ", ".join(f"{k} other than {v!r}" for k, v in p.d_normalises_batch.items())
                   if isinstance(p.d_normalises_batch, dict) else "")
              for n, p in registry.players().items() if p.d_normalises_batch is not True and p.images]
    return f"use model {' or '.join(others)}"


def _positive(v) -> bool:
    return v > 0


def _non_negative(v) -> bool:
    return v >= 0


def _between(lo: int, hi: int) -> Callable[[Any], bool]:
    return lambda v: lo <= v <= hi


MAX_WIDTH = registry.MAX_WIDTH  # latent and hidden widths: a 65536 x 65536 layer is already 17 GB
MAX_BATCH = 2**20
MAX_SEED = 2**32 - 1
MAX_STEPS = 10**12
MAX_NOISE_SEED = 2**63 - 1  # sample/eval --seed feeds torch.Generator directly (training seeds: MAX_SEED)


def _unit(v) -> bool:
    return 0 <= v < 1


def _names(v) -> bool:  # each a name a sub-folder of PNG output may take (sample --format png --class all)
    return len(v) <= 100_000 and all(isinstance(n, str) and is_path_component(n) for n in v)


def _policies(v) -> bool:  # 'none', or policies in their written form (no spaces): catalogue.parse_policies
    try:
        return v == "none" or ",".join(parse_policies(v)) == v
    except ValueError:
        return False


_ANNOTATIONS = {"widths": "tuple[int, ...]", "bool": "bool", "int": "int", "float": "float", "str": "str"}


def _declared(option: registry.Option):
    """A TrainConfig field from a component's declared option (its help, range and default)."""
    more = option.more + ("; " if option.more else "") + \
        f"{registry.owner(option.name)} {', '.join(registry.readers(option.name))}"
    return _opt(option.help, option.check, option.need, choices=option.choices, more=more, default=option.default)


# the games' and the players' own options (minimax.registry: each declared by its component), TrainConfig's first
# fields; config files group them under [game] and [players]
ComponentOptions = dataclasses.make_dataclass(
    "ComponentOptions", [(o.name, _ANNOTATIONS[o.type] + ("" if o.default is not None else " | None"), _declared(o))
                         for o in COMPONENT_OPTIONS.values()], init=False)


@dataclass(init=False)
class TrainConfig(ComponentOptions):
    """Every knob of a training run. Fields not given take the dataset's preset (PRESETS), else the
    default shown; unknown names are a TypeError (use :meth:`from_dict` / :meth:`resolve` for input
    from users, which turns every problem into a one-line :class:`MinimaxError`)."""

    # --- data -----------------------------------------------------------------------------
    dataset: str = _opt("data", choices=DATASETS, default=DEFAULT_DATASET,
                        more="built-in 2-D/1-D sets or an image set")
    data_dir: str | None = _opt("folder of the image set's files", default=None,
                                more="(mnist, fashion-mnist, stacked-mnist, cifar10, folder); the run's config.json "
                                     "keeps it as an absolute path")
    train_images: int = _opt("train on the first N training images (0 = all)", _between(0, 10**9), "in [0, 10^9]",
                             default=0, more="a fixed subset, for limited-data runs")
    image_size: int = _opt("side in pixels of 'folder' images", _between(4, 1024), "in [4, 1024]", default=32,
                           more="the images are resized to it")
    # --- players --------------------------------------------------------------------------
    model: str = _opt("player architecture", choices=MODELS, default="mlp",
                      more="; ".join(f"{n}: {p.help}" for n, p in registry.players().items()))
    latent_dim: int = _opt("dimension of the noise z", _between(1, MAX_WIDTH), f"in [1, {MAX_WIDTH}]", default=64)
    prior: str = _opt("noise prior p_z", choices=PRIORS, default="normal")
    g_output_bias: str = _opt("start of G's output biases", choices=("zero", "marginals"), default="zero",
                              more="'zero', or 'marginals' (each output unit starts at the mean training pixel, as "
                                   "in the 2014 paper's code; image data, paper and mlp models)")
    spectral_norm: str = _opt("spectral norm in D", choices=("off", "on"), default="off",
                              more="every layer of D (Miyato et al. 2018; any game)")
    condition: str = _opt("the conditional game p(x | c)", choices=CONDITIONS, default="none",
                          more="'none', 'concat' (one-hot label concatenated to G's and D's input; mlp and paper "
                               "models) or 'projection' (dcgan: conditional BatchNorm in G and a projection "
                               "discriminator; r3gan: a class embedding beside z and D's logit ⟨φ(x), e_c⟩)")
    class_names: tuple[str, ...] = _opt("class names of a conditional run", _names,
                                        "1 to 100000 names, each a folder name (not empty, '.' or '..', no '/', "
                                        "'\\' or NUL, at most 255 bytes)", default=(),
                                        more="in label order, comma-separated (filled in from the data: digits, "
                                             "CIFAR-10's names, a folder's sub-folders, the modes; checked against "
                                             "the data when given)")
    pack: int = _opt("PacGAN packing: samples D judges jointly", _between(1, 64), "in [1, 64]", default=1,
                     more="1 = the plain GAN")
    # --- the game (Algorithm 1) -----------------------------------------------------------
    steps: int = _opt("training iterations", _between(1, MAX_STEPS), "in [1, 10^12]", default=6000,
                      more="each: k D steps, then one G step")
    batch_size: int = _opt("minibatch size m", _between(1, MAX_BATCH), f"in [1, {MAX_BATCH}]", default=256,
                           more="data and noise samples per step")
    k: int = _opt("D steps per iteration k", _between(1, 1000), "in [1, 1000]", default=1)
    update: str = _opt("the update order", choices=UPDATES, default="alternating",
                       more="'alternating' = Algorithm 1 (G step on fresh noise after the D steps); 'simultaneous' = "
                            "G updated from the same G(z) as the last D step")
    game: str = _opt("the game", choices=GAMES, default="minimax",
                     more="; ".join(f"{n}: {g.help}" for n, g in registry.games().items()) + ". Each game's "
                          "presets and shortfalls: Presets below")
    r1: float = _opt("R1 penalty weight γ", _non_negative, ">= 0", default=0.0,
                     more="0 = off; adds γ/2·E‖∇_x D(x)‖² on real data to L_D (any game, a D without BatchNorm; "
                          "with pack p the mean is over the m samples, i.e. γ/p per packed input)")
    r2: float = _opt("R2 penalty weight γ", _non_negative, ">= 0", default=0.0,
                     more="0 = off; adds γ/2·E‖∇_x D(x)|_{x=G(z)}‖² on generated data to L_D (any game; R3GAN: "
                          "--game rpgan --r1 γ --r2 γ)")
    reg_every: int = _opt("R1/R2 every N-th iteration, weight × N", _between(1, 10**6), "in [1, 10^6]", default=1,
                          more="lazy regularisation (StyleGAN2, App. B); 1 = every iteration")
    # --- augmentation of D's inputs -------------------------------------------------------
    augment: str = _opt("DiffAugment policies for D's inputs", _policies,
                        "'none' or comma-separated policies from " + ", ".join(AUGMENT_POLICIES), default="none",
                        more="differentiable augmentation of D's real and generated inputs (Zhao et al. 2020): "
                             "'none', or policies from " + ", ".join(AUGMENT_POLICIES) + ", comma-separated")
    augment_p: float = _opt("probability of each policy per image", lambda v: 0 <= v <= 1, "in [0, 1]",
                            default=1.0, more="fixed; DiffAugment: 1")
    ada_target: float = _opt("ADA's target for E sign(D(x))", _unit, "in [0, 1)", default=0.0,
                             more="0 = off; adaptive p (Karras et al. 2020): p starts at 0 and moves to hold E "
                                  "sign(D's decision on real images) at the target (ADA: 0.6)")
    # --- optimisation ---------------------------------------------------------------------
    optimizer: str = _opt("optimiser for both players", choices=OPTIMIZERS, default="adam")
    lr: float = _opt("learning rate of both players", _positive, "> 0", default=2e-4)
    g_lr: float | None = _opt("G's learning rate (default: --lr)", _positive, "> 0", default=None)
    d_lr: float | None = _opt("D's learning rate (default: --lr)", _positive, "> 0", default=None)
    lr_decay: str = _opt("learning-rate schedule", choices=SCHEDULES, default="none",
                         more="'none' (constant) or 'linear' (to 0 at the last step)")
    beta1: float = _opt("Adam beta1", _unit, "in [0, 1)", default=0.5)
    beta2: float = _opt("Adam beta2", _unit, "in [0, 1)", default=0.999)
    momentum: float = _opt("SGD momentum", _unit, "in [0, 1)", default=0.9)
    g_ema: float = _opt("EMA decay β of G's weights", _unit, "in [0, 1)", default=0.0,
                        more="0 = off; an exponential moving average of G's weights, used for samples and metrics "
                             "(0.999 is usual)")
    g_ema_kimg: float = _opt("G's EMA half-life in kimg", _non_negative, ">= 0", default=0.0,
                             more="0 = off; in thousands of images shown to G (StyleGAN2-ADA's ema_kimg, e.g. 10): β = "
                                  "0.5^(batch/(1000·kimg)) per step; instead of g_ema")
    g_ema_rampup: float = _opt("the half-life's ramp", _non_negative, ">= 0", default=0.0,
                               more="0 = none; with g_ema_kimg: the half-life is at most this fraction of the images "
                                    "shown so far (StyleGAN2-ADA: 0.05)")
    g_uniform_average_from: int = _opt("uniform average of G from step N", _non_negative, ">= 0", default=0,
                                       more="0 = off; from this iteration on, samples and metrics come from the "
                                            "uniform (Polyak-Ruppert) average of G's weights since then (a run cut "
                                            "short before it keeps the g_ema average)")
    # --- run ------------------------------------------------------------------------------
    seed: int = _opt("random seed", _between(0, MAX_SEED), f"in [0, {MAX_SEED}]", default=0,
                     more="same seed, same device -> same parameters")
    device: str = _opt("'cpu', 'cuda', 'cuda:N' or 'auto'", default="auto")
    log_every: int = _opt("a metrics record every N iterations", _positive, "> 0", default=100,
                          more=f"a run of fewer than {SHORT_RUN:,} steps: every steps/{SHORT_RUN_RECORDS} (at least "
                               f"{SHORT_RUN_RECORDS} records, so that the health monitor can judge it)")
    checkpoint_every: int = _opt("a checkpoint every N iterations", _positive, "> 0", default=1000)
    keep_checkpoints: int = _opt("recent checkpoints kept", _between(1, 10**6), "in [1, 10^6]", default=3)
    snapshots: int = _opt("snapshots for the plots and replay", _between(1, 1000), "in [1, 1000]", default=20,
                          more="how many times during training to save samples (and, for 1-D/2-D data, D on a grid) "
                               "for the plots and the report's replay")
    eval_samples: int = _opt("samples for the final metrics", _between(1, 10**7), "in [1, 10^7]", default=2500)
    on_nan: str = _opt("on a NaN or inf", choices=("stop", "rollback"), default="stop",
                       more="on a non-finite loss or parameter: 'stop', or 'rollback' to the last checkpoint with "
                            "the learning rates halved")
    on_collapse: str = _opt("on G's collapse", choices=("warn", "stop"), default="warn",
                            more="when the health monitor finds G collapsed: 'warn', or 'stop' the run with a "
                                 "checkpoint (exit status 4) once the collapse has persisted 5 records past its "
                                 "warning")
    tensorboard: str = _opt("TensorBoard logs", choices=("auto", "off"), default="auto",
                            more="scalars and samples in RUN/tensorboard, when the package is installed")
    compile: str = _opt("torch.compile the players", choices=("off", "on"), default="off",
                        more="their forward passes; 'on' costs compile time up front")
    amp: str = _opt("mixed precision", choices=("off", "bf16"), default="off",
                    more="'off' (fp32) or 'bf16' (autocast)")
    out: str | None = _opt("run directory (default: runs/<dataset>-<time>)", default=None)

    # ------------------------------------------------------------------------------------------
    def __init__(self, **settings):
        names = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise TypeError(f"TrainConfig has no setting {unknown[0]!r}{_suggest(unknown[0], names)}")
        layers = preset_layers(settings)
        self._given = dict(settings)  # what was set: replaced() resolves the presets again from it
        self._sources = {}
        for f in dataclasses.fields(self):
            if f.name in settings:
                value, source = settings[f.name], "flag or argument"
            else:  # the topmost preset that sets it, else the default
                source, layer = next(((label, layer) for label, layer in reversed(layers) if f.name in layer),
                                     ("default", {f.name: f.default}))
                value = layer[f.name]
            setattr(self, f.name, value)
            self._sources[f.name] = source
        if self._sources["log_every"] == "default" and type(self.steps) is int and 0 < self.steps < SHORT_RUN:
            # a short run logs more often: the health monitor judges a condition over WINDOW records in a row
            self.log_every = max(1, self.steps // SHORT_RUN_RECORDS)

    @property
    def sources(self) -> dict[str, str]:
        """Where each value came from: 'default', a preset ('game preset (wgan-gp)', ...), 'config file PATH' or
        'flag or argument' (:data:`ORDER`). A run's config.json records them beside the values; one written before
        that gives every value, so all of its values read as given."""
        return dict(self._sources)

    def validate(self) -> "TrainConfig":
        """Raise :class:`MinimaxError` naming the first field whose value is out of range."""
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            choices, check = f.metadata.get("choices"), f.metadata.get("check")
            if v is None and f.default is None:
                continue
            if not _of_kind(field_kind(f), v):
                raise MinimaxError(f"{f.name} must be {_kind_words[field_kind(f)]}, got {v!r}"[:MAX_ERROR_CHARS])
            if isinstance(v, float) and not math.isfinite(v):
                raise MinimaxError(f"{f.name} must be finite, got {v}")
            if choices and v not in choices:
                raise MinimaxError(f"unknown {f.name} {v!r}; choose one of: {', '.join(choices)}")
            if check and not check(v):
                raise MinimaxError(f"{f.name} must be {f.metadata['need']}, got {_show(v)}")
        self._check_game_options()
        if self.batch_size % self.pack:
            raise MinimaxError(f"batch_size ({self.batch_size}) must be a multiple of pack ({self.pack})")
        if self.device != "auto" and not (self.device == "cpu" or self.device.startswith("cuda")):
            raise MinimaxError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {self.device!r}")
        return self

    def check_options_apply(self) -> "TrainConfig":
        """Refuse an option that the chosen dataset, model or optimiser does not read (``--data-dir`` with a
        built-in 2-D set, ``--g-hidden`` with dcgan, ``--momentum`` with Adam): set away from its default and
        preset, it would be silently ignored. Checked for a fresh run (the flags, a config file,
        ``minimax.train``); a stored run's config loads as it was written."""
        preset = _preset({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        for name, (owner, readers) in OPTION_OWNERS.items():
            component = getattr(self, owner)
            field_ = self.__dataclass_fields__[name]
            if component not in readers and getattr(self, name) != preset.get(name, field_.default):
                raise MinimaxError(f"{name} {_show(getattr(self, name))} applies to {owner} "
                                   f"{', '.join(readers)}, not {component!r}: it would be ignored")
        return self

    def _check_game_options(self) -> None:
        """Options that belong to one game are refused with another (instead of being silently ignored)."""
        for name in GAME_OPTIONS:  # (a game's own option with another game: refused)
            option, readers = COMPONENT_OPTIONS[name], registry.readers(name)
            if self.game not in readers and getattr(self, name) != option.default:
                raise MinimaxError(f"{name} {_show(getattr(self, name))} applies to game {', '.join(readers)}, not "
                                   f"{self.game!r}: it would be ignored" + (f" ({option.elsewhere})"
                                                                           if option.elsewhere else ""))
        if self.ada_target > 0 and self.game not in registry.games_with("real_sign"):
            raise MinimaxError(f"ada_target needs D's decision on a real image, which game {self.game!r} does not "
                               f"give; the games with one: {', '.join(registry.games_with('real_sign'))}")
        if self.augment == "none" and (self.augment_p != 1.0 or self.ada_target > 0):
            raise MinimaxError("augment_p and ada_target apply to an augmentation: give augment (e.g. "
                               "'color,translation,cutout')")
        if self.ada_target > 0 and self.augment_p != 1.0:
            raise MinimaxError("augment_p is the fixed probability; with ada_target p starts at 0 and adapts "
                               "(give one of them)")
        if self.image_size != TrainConfig.image_size and self.dataset != "folder":
            raise MinimaxError(f"image_size resizes the images of dataset 'folder'; {self.dataset!r} has its own size")
        if self.class_names and self.condition == "none":
            raise MinimaxError("class_names applies to a conditional run (give condition 'concat' or 'projection')")
        if self.g_ema > 0 and self.g_ema_kimg > 0:
            raise MinimaxError("g_ema and g_ema_kimg are two ways to give the same average's decay: give one")
        if self.g_ema_rampup > 0 and self.g_ema_kimg == 0:
            raise MinimaxError("g_ema_rampup ramps the half-life of g_ema_kimg: give g_ema_kimg too")
        if self.reg_every > 1 and not (self.r1 > 0 or self.r2 > 0):
            raise MinimaxError(f"reg_every {self.reg_every} spaces out R1 and R2, and neither is on "
                               "(give r1 or r2 > 0)")
        if self.game in PER_EXAMPLE_PENALTY and self.pack > 1:
            raise MinimaxError(f"{self.game}'s gradient penalty is per example; it does not apply with pack > 1")
        per_example = ([f"{self.game}'s gradient penalty"] if self.game in PER_EXAMPLE_PENALTY else []) + \
            [name for name, weight in (("R1", self.r1), ("R2", self.r2)) if weight > 0]
        if per_example and self.d_normalises_batch:
            fix = _per_example_fix(self.model)
            verb = "needs" if len(per_example) == 1 else "need"
            raise MinimaxError(f"{' and '.join(per_example)} {verb} ∇ₓD(x) per example, and model {self.model}'s D "
                               f"normalises across the batch (BatchNorm couples the examples; Gulrajani et al. 2017, "
                               f"§4): {fix}")

    @property
    def d_normalises_batch(self) -> bool:
        """Whether D normalises across the minibatch (BatchNorm in training), so that D(x_i) depends on the other x_j,
        as the model declares it: veegan's D, and dcgan's with d_norm 'batch'."""
        when = registry.players()[self.model].d_normalises_batch
        return all(getattr(self, k) == v for k, v in when.items()) if isinstance(when, dict) else bool(when)

    @property
    def player_options(self) -> dict[str, Any]:
        """The options the chosen model reads ({'d_norm': 'batch'} for dcgan)."""
        return {name: getattr(self, name) for name in registry.players()[self.model].options}

    def replaced(self, **changes) -> "TrainConfig":
        """A validated copy with ``changes``, its presets resolved again from what was set and the changes
        (``TrainConfig(dataset="grid").replaced(game="wgan-gp")`` is ``TrainConfig(dataset="grid",
        game="wgan-gp")``, with WGAN-GP's presets); this config is left as it is. A configuration that sets every
        value (a stored run's) has no presets left to apply, so changing its dataset, model or game is refused."""
        unknown = sorted(set(changes) - set(self.__dataclass_fields__))
        if unknown:
            raise TypeError(f"TrainConfig has no setting {unknown[0]!r}")
        components = sorted(k for k in ("dataset", "model", "game") if k in changes and changes[k] != getattr(self, k))
        if components and set(self._given) >= set(self.__dataclass_fields__):
            raise MinimaxError(f"this configuration sets every value (a stored run's), so a new {components[0]} "
                               "would keep the old one's presets; build a new TrainConfig with the settings you want")
        out = TrainConfig(**{**self._given, **changes}).validate()
        out._sources.update({k: v for k, v in self._sources.items() if k in self._given and k not in changes})
        return out

    def with_sources(self, sources: dict[str, str]) -> "TrainConfig":
        """This configuration, its values' sources set from ``sources`` where it names them (a stored run's,
        read back from its config.json)."""
        self._sources.update({k: str(v) for k, v in sources.items() if k in self._sources})
        return self

    @property
    def game_options(self) -> dict[str, Any]:
        """The options the chosen game reads ({'g_loss': ..., 'label_smoothing': ...} for the 2014 game):
        ``make_objective(cfg.game, **cfg.game_options)``."""
        return {name: getattr(self, name) for name in registry.games()[self.game].options}

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v, tuple) else v) for f in dataclasses.fields(self)
                for v in [getattr(self, f.name)]}

    @classmethod
    def from_dict(cls, d: dict, where: str = "config") -> "TrainConfig":
        """Build from a mapping of field names (converting and type-checking each value), then validate. A run's
        config.json also holds ``sources`` (where each value came from): read back, not a setting."""
        sources = d.get(SOURCES) if isinstance(d, dict) else None
        settings = {k: v for k, v in d.items() if k != SOURCES} if isinstance(sources, dict) else d
        cfg = cls(**_coerce_mapping(settings, where)).validate()
        return cfg.with_sources(sources) if isinstance(sources, dict) else cfg

    @classmethod
    def resolve(cls, config_file: str | Path | None = None, **settings) -> "TrainConfig":
        """The one configuration path: the dataset's preset, under the config file's settings, under
        ``settings`` (flags or keyword arguments); merged, then validated once."""
        merged = {}
        if config_file:
            where = f"config file {config_file}"
            raw = read_config_file(config_file)
            if isinstance(raw, dict) and isinstance(raw.get(SOURCES), dict):  # a run's config.json: its own record
                raw = {k: v for k, v in raw.items() if k != SOURCES}
            merged = _coerce_mapping(flatten_sections(raw, where), where)
        from_file = set(merged) - set(settings)
        merged.update(_coerce_mapping(settings, "option"))
        cfg = cls(**merged)
        cfg._sources.update({k: f"config file {config_file}" for k in from_file})
        return cfg.validate().check_options_apply()

    @classmethod
    def from_file(cls, path: str | Path) -> "TrainConfig":
        return cls.from_dict(read_config_file(path), where=f"config file {path}")


# a component's option named like one of TrainConfig's own settings would be shadowed by it: said in one line by
# registry.check() (the command line's and the API's first step), never silently read as the other
for _name in sorted(set(COMPONENT_OPTIONS) & set(TrainConfig.__annotations__)):
    registry.registry().problems.append(f"{', '.join(registry.readers(_name))} declares option {_name!r}, which is "
                                        "already a setting of minimax: give it another name")
# a data set reads settings of the run by name: each must be one
for _data in registry.datasets().values():
    for _name in sorted(set(_data.reads) - set(TrainConfig.__annotations__)):
        registry.registry().problems.append(f"data set {_data.name!r} ({_data.module}) reads {_name!r}, which is not a "
                                            "setting of minimax")


def _coerce_mapping(d: Any, where: str) -> dict:
    """``d``'s settings converted to the fields' types; unknown keys and bad values are MinimaxErrors."""
    if not isinstance(d, dict):
        raise MinimaxError(f"{where} must be a mapping of settings, got {type(d).__name__}")
    known = {f.name: f for f in dataclasses.fields(TrainConfig)}
    out = {}
    for key, raw in d.items():
        if key not in known:
            raise MinimaxError(f"unknown {where} key {key!r}{_suggest(str(key), known)}")
        out[key] = coerce(known[key], raw, where)
    return out


def _show(v) -> str:
    return ",".join(map(str, v)) if isinstance(v, tuple) else repr(v)


def _suggest(key: str, known) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def field_kind(f: dataclasses.Field) -> str:
    """'int', 'float', 'str', 'widths', 'names' or 'bool', from the field's annotation."""
    t = str(f.type)
    if t.startswith("tuple[str"):
        return "names"
    for name in ("tuple", "float", "int", "bool"):
        if t.startswith(name):
            return "widths" if name == "tuple" else name
    return "str"


def coerce(f: dataclasses.Field, raw: Any, where: str = "config", name: str | None = None) -> Any:
    """Convert ``raw`` (a CLI string or a JSON/TOML value) to the field's type, or raise MinimaxError."""
    kind = field_kind(f)
    prefix = f"{where}: " if where else ""
    bad = MinimaxError(f"{prefix}{name or f.name} must be {_kind_words[kind]}, got {raw!r}"[:300])
    if raw is None:
        if f.default is None:
            return None
        raise bad
    try:
        if kind == "names":
            items = (raw.split(",") if raw else []) if isinstance(raw, str) else raw
            if not isinstance(items, (list, tuple)) or not all(isinstance(n, str) for n in items):
                raise bad
            return tuple(items)
        if kind == "widths":
            items = raw.split(",") if isinstance(raw, str) else raw
            if not isinstance(items, (list, tuple)):
                raise bad
            out = []
            for h in items:
                if isinstance(h, bool) or isinstance(h, float) and not h.is_integer():
                    raise bad
                out.append(int(h))
            return tuple(out)
        if isinstance(raw, (bool, list, dict, tuple)):
            raise bad
        if kind == "int":
            if isinstance(raw, float) and not raw.is_integer():
                raise bad
            return int(raw)
        if kind == "float":
            return float(raw)
        if not isinstance(raw, str):
            raise bad
        return raw
    except (ValueError, TypeError, OverflowError):
        raise bad from None


def _of_kind(kind: str, v) -> bool:
    """Whether a value already has its field's type (``TrainConfig(steps=10.5)`` or ``class_names="a,b"`` from
    Python would otherwise pass the range checks; the CLI and files convert with :func:`coerce` first)."""
    if isinstance(v, bool):
        return kind == "bool"
    if kind == "int":
        return isinstance(v, int)
    if kind == "float":
        return isinstance(v, (int, float))
    if kind in ("widths", "names"):
        return isinstance(v, (tuple, list))
    return isinstance(v, str) if kind == "str" else True


_kind_words = {"int": "an integer", "float": "a number", "str": "a string",
               "widths": "a comma-separated list of integers", "names": "a comma-separated list of names",
               "bool": "true or false"}


MAX_CONFIG_BYTES = 1 << 20


def read_config_file(path: str | Path) -> dict:
    """Read a JSON (``.json``) or TOML (``.toml``) config file into a dict; clean errors on bad input."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO is refused below, never waited on
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(fd).st_mode
            if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISDIR(mode):
                raise MinimaxError(f"cannot read config file {p}: it is "
                                   f"{'a folder' if stat.S_ISDIR(mode) else 'a FIFO or socket'}, not a file")
            os.set_blocking(fd, True)
            raw = f.read(MAX_CONFIG_BYTES + 1)  # bounded: /dev/zero or a huge file is refused, not read
    except OSError as e:
        raise MinimaxError(f"cannot read config file {p}: {e.strerror or e}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise MinimaxError(f"config file {p} is larger than {MAX_CONFIG_BYTES // 1024} KiB; not a config file")
    try:
        text = raw.decode("utf-8")
        if p.suffix == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib  # type: ignore[no-redef]
            return tomllib.loads(text)
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise MinimaxError(f"config file {p} is not valid {'TOML' if p.suffix == '.toml' else 'JSON'}: "
                           f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"[:300]) from None


# numbers given outside TrainConfig (sample, eval, --nproc), checked under their flag's name
def noise_seed(raw: int | str) -> int:
    """A noise seed in [0, 2^63 − 1] (given as a number or as the text of one)."""
    try:
        v = int(raw)
    except (TypeError, ValueError):
        raise MinimaxError(f"--seed must be an integer, got {raw!r}"[:MAX_ERROR_CHARS]) from None
    if not 0 <= v <= MAX_NOISE_SEED:
        raise MinimaxError(f"--seed must be in [0, 2^63 - 1], got {raw}"[:MAX_ERROR_CHARS])
    return v


def positive_int(raw: int | str, flag: str) -> int:
    """A positive integer (given as a number or as the text of one); ``flag`` names it in the error."""
    try:
        v = int(raw)
    except (TypeError, ValueError):
        raise MinimaxError(f"{flag} must be a positive integer, got {raw!r}"[:MAX_ERROR_CHARS]) from None
    if v < 1:
        raise MinimaxError(f"{flag} must be a positive integer, got {v}")
    return v
