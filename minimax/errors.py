"""The one exception type that means "the user asked for something we cannot do".

The CLI turns it into a one-line message on stderr and exit status 2; library
callers can catch it. Anything else escaping is a bug in minimax.
"""


MAX_ERROR_CHARS = 500  # the longest message the command line prints (a 30 MB bad value is not echoed back)


class MinimaxError(Exception):
    """A problem with the user's input: a config value, a file, a path, a shape."""

    exit_code = 2


def one_line(e: BaseException, limit: int = 200) -> str:
    """An exception's message on one line: every non-empty line joined ("Error(s) in loading state_dict for G:" is
    followed by what is missing, not cut after its colon), at most ``limit`` characters."""
    text = " ".join(line.strip() for line in str(e).splitlines() if line.strip()) or type(e).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"
