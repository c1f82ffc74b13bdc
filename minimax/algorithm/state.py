"""The state of a :class:`~minimax.algorithm.trainer.Trainer` that continues it exactly: both players (and the
weight average of G), both optimisers, every process's random streams and pending statistics, the step, the
learning-rate scale and the augmentation's p. :mod:`minimax.run.checkpoint` writes it to a file."""
from __future__ import annotations

from . import distributed
from .optim import match_state_layout


def game_state(game) -> dict:
    """Everything that continues this run exactly. With several processes this is a collective
    (every process's streams and pending statistics are gathered, in rank order)."""
    modules = {"G": game.G.state_dict(), "D": game.D.state_dict()}
    if game.G_average is not None:
        modules["G_ema"] = game.G_average.module.state_dict()  # the checkpoint key since format 1
    stats, count = game.stats.state_dict()
    mine = {"rng": game.streams.state_dict(), "stats": stats}
    processes = distributed.gather_states(mine, game.device) if game.ctx.active else [mine]
    state = {"step": game.step, "lr_scale": game.lr_scale, "world_size": game.ctx.world, "modules": modules,
             "optimizers": {"opt_g": game.opt_g.state_dict(), "opt_d": game.opt_d.state_dict()},
             "processes": processes, "stats_count": count}
    if game.augmentation is not None:  # p and ADA's pending statistic (rank 0's: p is the same on every rank)
        state["augment"] = game.augmentation.state()
    return state


def load_game_state(game, state: dict) -> None:
    """Restore :func:`game_state`'s output (this process's streams: its rank's, or rank 0's when the
    state comes from a run with another number of processes)."""
    modules = {"G": game.G, "D": game.D}
    if game.G_average is not None:
        modules["G_ema"] = game.G_average.module
    for name, module in modules.items():
        module.load_state_dict(state["modules"][name], strict=True)
    for opt, name in ((game.opt_g, "opt_g"), (game.opt_d, "opt_d")):
        opt.load_state_dict(state["optimizers"][name])
        match_state_layout(opt)
    mine = state["processes"][game.ctx.rank if state["world_size"] > 1 else 0]
    game.streams.load_state_dict(mine["rng"])
    game.step, game.lr_scale = int(state["step"]), float(state["lr_scale"])
    game.stats.load_state_dict(mine["stats"], state["stats_count"])
    if game.augmentation is not None:
        if "augment" not in state:
            raise ValueError("the checkpoint has no augmentation state")
        game.augmentation.load_state(state["augment"])

