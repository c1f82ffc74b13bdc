"""The ``minimax`` command's entry point, outside the package on purpose.

Importing :mod:`minimax` loads torch (a second or two); a Ctrl-C in that window would otherwise print
an import traceback. This module imports nothing heavy itself, so the interrupt is caught here and
reported like any other: one line, exit status 130.
"""
import sys


def main() -> int:
    try:
        from minimax.cli import main as cli_main
    except KeyboardInterrupt:
        print("minimax: interrupted", file=sys.stderr)
        return 130
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
