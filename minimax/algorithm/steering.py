"""Steering the game by hand between two iterations of Algorithm 1 (``minimax train --live``): one D step, one G step,
a new k or new learning rates; pause, resume and "one iteration" change nothing and are kept for the record.

An event is a dict ``{"step": S, "action": A, ...}``: it happened after iteration S, before iteration S + 1. Every
event a trainer has taken is in ``trainer.steered`` (and so in each checkpoint), in order, so a resumed run knows
its settings and replays, at the same step, the events that came after its checkpoint (:mod:`minimax.run.steering`).
"""
from __future__ import annotations

import math

from ..errors import MinimaxError

MOVES = ("d_step", "g_step")  # one update of one player, outside Algorithm 1's count of iterations
SET = "set"  # new values of SETTINGS
MARKS = ("pause", "resume", "iteration")  # no change to the game: kept for the log
ACTIONS = (*MARKS, *MOVES, SET)
SETTINGS = ("k", "g_lr", "d_lr")


def check_event(event, step_limit: int | None = None) -> dict:
    """``event`` as a clean dict (the action, its step, and for 'set' the settings given, each in its TrainConfig
    range), or a one-line MinimaxError naming what is wrong. ``step_limit``: the largest step it may name."""
    from ..config import TrainConfig, coerce

    if not isinstance(event, dict):
        raise MinimaxError(f"a steering event is an object, got {type(event).__name__}")
    action = event.get("action")
    if action not in ACTIONS:
        raise MinimaxError(f"steering action must be one of {', '.join(ACTIONS)}, got {action!r}"[:300])
    step = event.get("step")
    if not (isinstance(step, int) and not isinstance(step, bool) and step >= 0 and
            (step_limit is None or step <= step_limit)):
        raise MinimaxError(f"a steering event's step must be an integer in [0, {step_limit}], got {step!r}"[:300])
    unknown = sorted(set(event) - {"step", "action", *(SETTINGS if action == SET else ())})
    if unknown:
        raise MinimaxError(f"steering action {action!r} takes no {unknown[0]!r}"[:300])
    out = {"step": step, "action": action}
    if action == SET:
        given = [k for k in SETTINGS if k in event]
        if not given:
            raise MinimaxError(f"steering action 'set' needs one of {', '.join(SETTINGS)}")
        for name in given:
            f = TrainConfig.__dataclass_fields__[name]
            raw = event[name]
            if raw is None or isinstance(raw, str):  # numbers only: a JSON body is typed
                raise MinimaxError(f"{name} must be a number, got {raw!r}"[:300])
            v = coerce(f, raw, where="", name=name)
            if (isinstance(v, float) and not math.isfinite(v)) or not f.metadata["check"](v):
                raise MinimaxError(f"{name} must be {f.metadata['need']}, got {raw!r}"[:300])
            out[name] = v
    return out


def settings_of(events: list[dict]) -> dict:
    """The settings that the 'set' events leave in force (the last value of each)."""
    out: dict = {}
    for e in events:
        if e["action"] == SET:
            out.update({k: e[k] for k in SETTINGS if k in e})
    return out


def steer(trainer, event: dict) -> None:
    """Take one checked event (:func:`check_event`) at the trainer's step: a D step on fresh minibatches, a G step on
    fresh noise (both from the trainer's streams, so a replay draws the same), or new settings; then append it to
    ``trainer.steered``."""
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
