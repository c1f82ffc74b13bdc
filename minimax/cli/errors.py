"""How the command line reports a problem: one line of at most MAX_ERROR_CHARS characters, never a traceback."""
from __future__ import annotations

from ..errors import MAX_ERROR_CHARS


def clip(message: str) -> str:
    """One line of at most MAX_ERROR_CHARS characters (a 30 MB bad value is not echoed back)."""
    line = " ".join(message.split())
    return line if len(line) <= MAX_ERROR_CHARS else line[:MAX_ERROR_CHARS - 1] + "…"
