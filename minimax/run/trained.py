"""A trained run loaded for use: its config, data and players (G, its weight average, D) from a checkpoint,
without optimisers, random streams or statistics — what sampling, evaluation and the report need.

    run = load_trained("runs/grid")            # the latest checkpoint that verifies
    x = minimax.run.sampling.generate(run, 1000, seed=0)
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..algorithm import speed
from ..config import TrainConfig
from ..errors import MinimaxError, one_line
from ..games import make_objective
from ..players import build_players, player_classes
from .checkpoint import decode_state
from .datacard import read_data_card
from .rundir import load_run_config
from .setup import class_names, load_data, read_run_checkpoint, resolve_device


@dataclass
class Trained:
    """The players of a run at one checkpoint (``step``), on ``device``, in eval-ready form."""

    run_dir: Path
    cfg: TrainConfig
    data: object  # the run's data card (image data: no image loaded), or the toy set itself
    G: nn.Module
    D: nn.Module
    G_average: nn.Module | None  # the weight average of G the run kept (--g-ema / --g-uniform-average-from)
    objective: object
    device: torch.device
    step: int
    g_is_average: bool = False  # a pretrained run's players-only checkpoint keeps the weight average as G

    @property
    def conditional(self) -> bool:
        return self.cfg.condition != "none"

    @property
    def sampler(self) -> nn.Module:
        """The generator samples are drawn from: the weight average of G when the run kept one."""
        return self.G_average if self.G_average is not None else self.G


def load_trained(run_dir: str | Path, checkpoint: str | Path | None = None) -> Trained:
    """The players of ``run_dir`` from its latest checkpoint (or the file ``checkpoint``), built as the run
    built them (same layout, same device), their weights loaded strictly. A run of an image dataset is read
    with its data card (``RUN/data.safetensors``): its training images need not exist any more."""
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    tensors, meta = read_run_checkpoint(run_dir, cfg, checkpoint)
    cfg.validate()
    device = resolve_device(cfg.device)
    data = read_data_card(run_dir)  # an image run's shape, pixel map and labels, without its images
    if data is None:
        data, cfg = load_data(cfg, device)
    elif player_classes(cfg, data):
        cfg = cfg.replaced(class_names=class_names(cfg, data))
    torch.manual_seed(cfg.seed)
    G, D = build_players(cfg, data, init_from_data=False)  # (the weights come from the checkpoint)
    G, D = G.to(device), D.to(device)
    modules = decode_state(tensors, meta)["modules"]
    average = copy.deepcopy(G).requires_grad_(False) if "G_ema" in modules else None
    speed.use_channels_last(G, D, *filter(None, [average]))  # the layout the run trained (and sampled) in
    try:
        for name, module in (("G", G), ("D", D), ("G_ema", average)):
            if module is not None:
                module.load_state_dict(modules[name], strict=True)
    except (KeyError, RuntimeError) as e:
        raise MinimaxError(f"checkpoint does not match this run's models: {one_line(e)}") from None
    objective = make_objective(cfg.game, **cfg.game_options)
    return Trained(run_dir, cfg, data, G, D, average, objective, device, int(meta["step"]),
                   meta.get("generator") == "the run's weight average of G")
