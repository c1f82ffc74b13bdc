"""``minimax report RUN_DIR...``: one self-contained HTML report of one or more runs."""
from __future__ import annotations

import argparse

from .outputs import default_output


def cmd_report(args: argparse.Namespace) -> int:
    from ..viz.report import write_report

    out = args.out or (default_output(args, args.run_dirs[0], "report.html") if getattr(args, "zoo_entry", None)
                       else None)
    path = write_report(args.run_dirs, out)
    print(f"wrote {path}")
    return 0


def add_parser(sub) -> None:
    r = sub.add_parser("report", help="write a self-contained HTML report of one or more runs")
    r.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    r.add_argument("--out", help="the HTML file (default: RUN_DIR/report.html of the first run; for zoo:NAME, "
                                     "NAME-report.html here)")
    r.set_defaults(func=cmd_report)
