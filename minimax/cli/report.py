"""``minimax report RUN_DIR...``: one self-contained HTML report of one or more runs."""
from __future__ import annotations

import argparse


def cmd_report(args: argparse.Namespace) -> int:
    from ..viz.report import write_report

    path = write_report(args.run_dirs, args.out)
    print(f"wrote {path}")
    return 0


def add_parser(sub) -> None:
    r = sub.add_parser("report", help="write a self-contained HTML report of one or more runs")
    r.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    r.add_argument("--out", help="the HTML file (default: RUN_DIR/report.html of the first run)")
    r.set_defaults(func=cmd_report)
