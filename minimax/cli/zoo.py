"""``minimax zoo``: the pretrained runs shipped with minimax (:mod:`minimax.zoo`); ``minimax zoo get NAME`` copies
one to a folder of your own. Every command that reads a run also takes ``zoo:NAME``."""
from __future__ import annotations

import argparse

from .. import zoo
from ..errors import MinimaxError


def cmd_zoo(args: argparse.Namespace) -> int:
    if args.action == "get":
        if not args.name:
            raise MinimaxError("zoo get needs an entry's name: minimax zoo get NAME [--out DIR]")
        target = zoo.get(args.name, args.out)
        print(f"copied zoo entry {args.name} to {target}: minimax sample {target} --grid samples.png, "
              f"minimax report {target}, minimax export {target}")
        return 0
    if args.action != "list":
        raise MinimaxError(f"zoo: unknown action {args.action!r} (list, get)")
    names = zoo.names()
    if not names:
        print("no zoo entries are installed with this minimax")
        return 0
    for name in names:
        e = zoo.entry(name)
        metrics = "; ".join(f"{k} {v}" for k, v in e.get("metrics", {}).items())
        print(f"zoo:{name:<20} {e.get('title', '')}\n    {metrics}\n    made by: {e.get('command', '?')} "
              f"({e.get('minutes', '?')} min on {e.get('machine', '?')}); {zoo.size(name) / 1e6:.1f} MB")
    print("use one: minimax sample zoo:NAME --grid samples.png | minimax report zoo:NAME | "
          "minimax.load('zoo:NAME') (docs/zoo.md)")
    return 0


def add_parser(sub) -> None:
    z = sub.add_parser("zoo", help="list the pretrained runs shipped with minimax, or copy one (zoo get NAME)")
    z.add_argument("action", nargs="?", default="list", help="'list' (default) or 'get'")
    z.add_argument("name", nargs="?", default=None, help="get: the entry to copy")
    z.add_argument("--out", default=None, help="get: the new folder (default: ./zoo-NAME)")
    z.set_defaults(func=cmd_zoo)
