"""A run steered by hand (``minimax train --live``): the page's commands reach the loop between two iterations, each
becomes an event (:mod:`minimax.algorithm.steering`) taken at the trainer's step, written to the run's
``steering.jsonl`` and, as a record, to its metrics log; a resumed run replays the events its checkpoint had not
yet taken, at the same steps, so it ends bitwise where the steered run did. A live pause or move also saves a
snapshot of the step (sampling never perturbs training), so the page shows D's surface and G's samples as they are.

The file is the run's steering history, in order. A new command while older events wait for their replay forks the
history there: the waiting events are dropped (as a roll-back drops the log after its checkpoint).
"""
from __future__ import annotations

import json
import math
import queue
import secrets
import sys
from pathlib import Path

from ..algorithm.steering import ACTIONS, MARKS, MOVES, SET, SETTINGS, steer
from ..config import TrainConfig, coerce
from ..errors import MinimaxError
from ..files import atomic_write_bytes, read_bytes
from .rundir import STEERING

MAX_FILE_BYTES = 1 << 22
QUEUE = 64  # commands waiting for the loop (the page sends one per click)
POLL_S = 0.2  # while paused, how often the loop looks at its stop flag


class Control:
    """The live page's line to the training loop: a bounded queue of commands filled by the server's threads and
    emptied by the loop between iterations, the loop's state as the page shows it, and the page's token (a request
    that cannot read the page cannot steer). ``on_open(run_dir)`` is called once the run directory is written."""

    def __init__(self, on_open=None):
        self.token = secrets.token_urlsafe(24)
        self.on_open = on_open
        self.paused = False
        self.view: dict = {}  # the trainer's step, k and learning rates, as the loop last left them
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE)

    def submit(self, command: dict) -> dict:
        """Queue a page's command (``{"action": ..., "k": ...}``), checked now: a one-line MinimaxError if it is
        malformed or the queue is full."""
        if not isinstance(command, dict) or "step" in command:
            raise MinimaxError("a command is an object with an action (the step is the run's)")
        check_event({**command, "step": 0})
        try:
            self._queue.put_nowait(dict(command))
        except queue.Full:
            raise MinimaxError(f"{QUEUE} commands are waiting for the run already") from None
        return {"queued": self._queue.qsize()}

    def show(self, trainer) -> None:
        """What the page shows of the loop: the trainer's step, k and learning rates now."""
        self.view = {"step": trainer.step, "k": trainer.k, "g_lr": trainer.base_lr("g"), "d_lr": trainer.base_lr("d")}

    def take(self, wait: bool) -> dict | None:
        try:
            return self._queue.get(timeout=POLL_S) if wait else self._queue.get_nowait()
        except queue.Empty:
            return None


def check_event(event, step_limit: int | None = None) -> dict:
    """``event`` as a clean dict (the action, its step, and for 'set' the settings given, each in its TrainConfig
    range), or a one-line MinimaxError naming what is wrong. ``step_limit``: the largest step it may name."""
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


def check_steering_file(run_dir: Path) -> None:
    """Refuse a run whose steering history is not a regular file (a link, a FIFO, a folder), before any work."""
    path = Path(run_dir) / STEERING
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise MinimaxError(f"{path} is not a regular file (a link, a FIFO or a folder); it is where the run keeps its "
                           "steering history: remove it")


def check_history(events, step_limit: int | None = None) -> None:
    """Refuse a steering history this module could not have written: a list of clean events (:func:`check_event`,
    none after ``step_limit``), in step order. The steering file and a checkpoint's history are both held to it."""
    if not isinstance(events, list):
        raise MinimaxError("a steering history is a list of events")
    if [check_event(e, step_limit) for e in events] != events or \
            any(a["step"] > b["step"] for a, b in zip(events, events[1:])):
        raise MinimaxError("steering events are out of order or not in their clean form")


def read_events(path: Path) -> list[dict] | None:
    """The events of a steering file, or None where it is unreadable or not one this module wrote."""
    try:
        raw = read_bytes(path, "the steering log")
        if len(raw) > MAX_FILE_BYTES:
            return None
        events = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        check_history(events)
        return events
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, ValueError, MinimaxError):
        return None


class Steering:
    """A run's steering between iterations: the replays its history holds for this step, then (with ``control``)
    the page's commands, holding the loop while the page has paused it; ``snapshot()`` saves the run's snapshot of
    the step (after a live pause or move)."""

    def __init__(self, run_dir: Path, trainer, control: Control | None, warn=None, snapshot=None):
        self.path, self.control, self.snapshot = Path(run_dir) / STEERING, control, snapshot
        check_steering_file(run_dir)
        events = read_events(self.path)
        if events is None or events[:len(trainer.steered)] != trainer.steered:  # the checkpoint's history wins
            if warn and self.path.exists():
                warn(f"{self.path} does not continue the checkpoint's steering history; it is rewritten from there")
            events = list(trainer.steered)
            if events or self.path.exists():
                self._write(events)
        self.events = events

    @property
    def active(self) -> bool:
        """Whether there is anything to do between iterations (no: the loop does not call this object)."""
        return self.control is not None or len(self.events) > 0

    def between_iterations(self, trainer, records, stop) -> None:
        """The events due at the trainer's step (a replay), then the page's commands; while paused, wait for one
        (or for a stop signal). 'iteration' returns, to play one iteration and pause again."""
        while len(trainer.steered) < len(self.events) and self.events[len(trainer.steered)]["step"] <= trainer.step:
            event = self.events[len(trainer.steered)]
            if event["step"] < trainer.step:  # (a history that the run cannot replay: dropped from here)
                self._fork(trainer)
                break
            self._take(trainer, event, records)
        control = self.control
        if control is None:
            return
        control.show(trainer)
        while True:
            command = control.take(wait=control.paused)
            if command is None:
                if not control.paused or stop.signum is not None:
                    return
                continue
            event = check_event({**command, "step": trainer.step})
            if len(trainer.steered) < len(self.events):
                self._fork(trainer)
            self.events.append(event)
            self._write(self.events)
            self._take(trainer, event, records)
            control.show(trainer)
            if event["action"] in ("pause", *MOVES) and self.snapshot:  # the page shows D's surface and G's samples
                self.snapshot()
            if event["action"] in ("pause", "resume"):
                control.paused = event["action"] == "pause"
            elif event["action"] == "iteration":
                return

    def _take(self, trainer, event: dict, records) -> None:
        steer(trainer, event)
        records.log.write({"step": event["step"], "event": "steer", **{k: v for k, v in event.items() if k != "step"}})
        if event["action"] not in MARKS:
            records.bar.write(f"minimax: steering at step {event['step']}: "
                              + " ".join(f"{k} {v}" for k, v in event.items() if k != "step"), file=sys.stderr)

    def _fork(self, trainer) -> None:
        self.events = list(trainer.steered)
        self._write(self.events)

    def _write(self, events: list[dict]) -> None:
        atomic_write_bytes(self.path, "".join(json.dumps(e) + "\n" for e in events).encode(), inside=self.path.parent)
