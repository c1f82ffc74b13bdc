"""The state of a :class:`~minimax.algorithm.trainer.Trainer` that continues it exactly: both players (and the
weight average of G), both optimisers, every process's random streams and pending statistics, the step, the
learning-rate scale, the augmentation's p and the steering events taken. :mod:`minimax.run.checkpoint` writes it to a
file."""
from __future__ import annotations

from . import distributed
from .optim import match_state_layout
from .steering import settings_of


def trainer_state(trainer) -> dict:
    """Everything that continues this run exactly. With several processes this is a collective
    (every process's streams and pending statistics are gathered, in rank order)."""
    modules = {"G": trainer.G.state_dict(), "D": trainer.D.state_dict()}
    if trainer.G_average is not None:
        modules["G_ema"] = trainer.G_average.module.state_dict()  # the checkpoint key since format 1
    stats, count = trainer.stats.state_dict()
    mine = {"rng": trainer.streams.state_dict(), "stats": stats}
    processes = distributed.gather_states(mine, trainer.device) if trainer.ctx.active else [mine]
    state = {"step": trainer.step, "lr_scale": trainer.lr_scale, "world_size": trainer.ctx.world, "modules": modules,
             "optimizers": {"opt_g": trainer.opt_g.state_dict(), "opt_d": trainer.opt_d.state_dict()},
             "processes": processes, "stats_count": count, "steering": list(trainer.steered)}
    if trainer.augmentation is not None:  # p and ADA's pending statistic (rank 0's: p is the same on every rank)
        state["augment"] = trainer.augmentation.state()
    return state


def load_trainer_state(trainer, state: dict) -> None:
    """Restore :func:`trainer_state`'s output (this process's streams: its rank's, or rank 0's when the
    state comes from a run with another number of processes)."""
    modules = {"G": trainer.G, "D": trainer.D}
    if trainer.G_average is not None:
        modules["G_ema"] = trainer.G_average.module
    for name, module in modules.items():
        module.load_state_dict(state["modules"][name], strict=True)
    for opt, name in ((trainer.opt_g, "opt_g"), (trainer.opt_d, "opt_d")):
        opt.load_state_dict(state["optimizers"][name])
        match_state_layout(opt)
    mine = state["processes"][trainer.ctx.rank if state["world_size"] > 1 else 0]
    trainer.streams.load_state_dict(mine["rng"])
    trainer.step, trainer.lr_scale = int(state["step"]), float(state["lr_scale"])
    trainer.steered = list(state.get("steering", []))
    trainer.settings = settings_of(trainer.steered)
    trainer.stats.load_state_dict(mine["stats"], state["stats_count"])
    if trainer.augmentation is not None:
        if "augment" not in state:
            raise ValueError("the checkpoint has no augmentation state")
        trainer.augmentation.load_state(state["augment"])

