"""Steering the game by hand between two iterations of Algorithm 1 (``minimax train --live``): one D step, one G step,
a new k or new learning rates; pause, resume and "one iteration" change nothing and are kept for the record.

An event is a dict ``{"step": S, "action": A, ...}``: it happened after iteration S, before iteration S + 1. Every
event a trainer has taken is in ``trainer.steered`` (and so in each checkpoint), in order, so a resumed run knows
its settings and replays, at the same step, the events that came after its checkpoint (:mod:`minimax.run.steering`).
"""
from __future__ import annotations

from ..errors import MinimaxError

MOVES = ("d_step", "g_step")  # one update of one player, outside Algorithm 1's count of iterations
SET = "set"  # new values of SETTINGS
MARKS = ("pause", "resume", "iteration")  # no change to the game: kept for the log
ACTIONS = (*MARKS, *MOVES, SET)
SETTINGS = ("k", "g_lr", "d_lr")


def settings_of(events: list[dict]) -> dict:
    """The settings that the 'set' events leave in force (the last value of each)."""
    out: dict = {}
    for e in events:
        if e["action"] == SET:
            out.update({k: e[k] for k in SETTINGS if k in e})
    return out


def steer(trainer, event: dict) -> None:
    """Take one checked event (:func:`minimax.run.steering.check_event`) at the trainer's step: a D step on fresh
    minibatches, a G step on fresh noise (both from the trainer's streams, so a replay draws the same), or new
    settings; then append it to ``trainer.steered``."""
    if event["step"] != trainer.step:
        raise MinimaxError(f"a steering event of step {event['step']} cannot be taken at step {trainer.step}")
    action = event["action"]
    if action in MOVES:
        with trainer.streams.own_global():
            if action == "d_step":
                trainer.discriminator_step()
            else:
                trainer.generator_step()
    trainer.steered.append(event)
    if action == SET:
        trainer.settings = settings_of(trainer.steered)
        if "g_lr" in event or "d_lr" in event:  # at once (a constant rate is otherwise set only at the start)
            trainer.set_learning_rate_scale(trainer.lr_scale * trainer.schedule_factor())
