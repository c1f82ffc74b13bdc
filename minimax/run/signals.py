"""Stopping a run cleanly: SIGINT/SIGTERM finish the iteration in flight, then the run checkpoints and exits
128 + the signal's number (a second Ctrl-C stops at once); with several processes every one stops at the same
step."""
from __future__ import annotations

import signal
from pathlib import Path

from ..algorithm import distributed
from ..errors import MinimaxError


class Interrupted(MinimaxError):
    """The run was asked to stop (Ctrl-C, SIGTERM) and did, with a checkpoint: a stop, not an error."""

    kind = "stopped"

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


class SignalFlag:
    """SIGINT/SIGTERM only set a flag: the step in flight finishes, then the run checkpoints and exits."""

    def __init__(self):
        self.signum: int | None = None
        self._old = {}

    def __enter__(self):
        for s in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[s] = signal.signal(s, self._handle)
            except ValueError:  # not in the main thread: leave signals alone
                pass
        return self

    def _handle(self, signum, frame):
        if self.signum is not None and signum == signal.SIGINT:  # Ctrl-C twice: stop now, no checkpoint
            raise KeyboardInterrupt
        self.signum = self.signum or signum  # a repeated SIGTERM does not cut the stop checkpoint short

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)

    def should_stop(self, trainer, meeting: bool) -> bool:
        """Whether a signal arrived; with several processes, whether one arrived at any of them (asked
        only on log and checkpoint steps, where the processes meet anyway)."""
        stopping = self.signum is not None
        if trainer.ctx.active:
            stopping = meeting and distributed.any_true(stopping, trainer.device)
        return stopping

    def interrupted(self, step: int, checkpoint: Path, run_dir: Path) -> Interrupted:
        signum = self.signum or signal.SIGTERM
        return Interrupted(f"interrupted by {signal.Signals(signum).name} at step {step}; checkpoint saved to "
                           f"{checkpoint}; continue with: minimax train --resume {run_dir}", signum)
