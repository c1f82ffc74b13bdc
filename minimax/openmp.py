"""How torch's OpenMP threads wait, chosen before torch loads (libgomp reads it once, when it starts).

Waiting threads spin by default: fastest on an idle machine, but on a busy one a spinning thread burns the time
slices its descheduled partner needs (measured, benchmarks/busy_machine.py: the default ring run 3.5x slower
beside one busy single-threaded process on 2 cores, 1.3x with sleeping waits; alone, sleeping waits cost it
~15-25%). So minimax looks once, at start-up, at what the other processes use: if they keep at least half a core
busy, waiting threads sleep (OMP_WAIT_POLICY=PASSIVE); else they spin as before. The threads, the kernels and so
the results are the same either way. A user's own OMP_WAIT_POLICY is never overridden. The ``minimax`` command
chooses after parsing its arguments; from Python, ``import minimax`` loads nothing, and minimax chooses when it
first loads torch itself (the first use of ``minimax.train``, ``minimax.games``, ...).
"""
from __future__ import annotations

import os
import sys
import time

BUSY_CORES = 0.5  # other processes' use of the machine, in cores, above which waiting threads sleep
SAMPLE_SECONDS = 0.1


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all cores from /proc/stat (None where there is no /proc/stat)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_cores(seconds: float = SAMPLE_SECONDS) -> float | None:
    """How many cores the machine's processes keep busy, measured over ``seconds`` (None: cannot tell)."""
    before = _cpu_times()
    time.sleep(seconds)
    after = _cpu_times()
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1]) * (os.cpu_count() or 1)


def choose_wait_policy() -> str | None:
    """Set OMP_WAIT_POLICY=PASSIVE when the machine is busy at start-up (and the user set none); returns what
    was set, or None."""
    if "OMP_WAIT_POLICY" in os.environ or "torch" in sys.modules:  # torch's OpenMP has read it already
        return None
    busy = busy_cores()
    if busy is not None and busy >= BUSY_CORES:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        return "PASSIVE"
    return None
