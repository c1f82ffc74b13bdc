"""The one exception type that means "the user asked for something we cannot do".

The CLI turns it into a one-line message on stderr and exit status 2; library
callers can catch it. Anything else escaping is a bug in minimax.
"""


MAX_ERROR_CHARS = 500  # the longest message the command line prints (a 30 MB bad value is not echoed back)


class MinimaxError(Exception):
    """A problem with the user's input: a config value, a file, a path, a shape."""

    exit_code = 2
    kind = "error"  # the word the command line prints before the message ("minimax: error: ...")


def one_line(e: BaseException, limit: int = 200) -> str:
    """An exception's message on one line: every non-empty line joined ("Error(s) in loading state_dict for G:" is
    followed by what is missing, not cut after its colon), at most ``limit`` characters."""
    text = " ".join(line.strip() for line in str(e).splitlines() if line.strip()) or type(e).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"


def check_integer(name: str, v, lo: int, hi: int | None = None) -> int:
    """``v`` if it is an int (not a bool) in [lo, hi]; else the one-line error the command line gives."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise MinimaxError(f"{name} must be an integer, got {v!r}"[:300])
    if v < lo or hi is not None and v > hi:
        raise MinimaxError(f"{name} must be " + (f"in [{lo}, {hi}]" if hi is not None else f">= {lo}") + f", got {v}")
    return v
