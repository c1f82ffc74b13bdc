"""``minimax watch RUN_DIR``: a local page that shows the run's game while it trains (or after); Ctrl-C stops it
(:mod:`minimax.viz.watch`)."""
from __future__ import annotations

import argparse
import sys

from ..config import positive_int
from ..errors import MinimaxError


def check_port(raw: str) -> int:
    port = 0 if str(raw) == "0" else positive_int(raw, "--port")
    if port > 65535:
        raise MinimaxError(f"--port must be in [0, 65535], got {port}")
    return port


def warn_host(host: str, what: str = "read this run's page") -> None:
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"minimax: warning: --host {host} lets other machines {what}", file=sys.stderr)


def cmd_watch(args: argparse.Namespace) -> int:
    from ..viz.watch import serve

    server = serve(args.run_dir, args.host, check_port(args.port))
    print(f"watching {args.run_dir} at {server.url} (Ctrl-C stops)", flush=True)
    warn_host(args.host)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


def add_parser(sub) -> None:
    w = sub.add_parser("watch", help="a local page that shows a run's game live, while it trains or after")
    w.add_argument("run_dir", metavar="RUN_DIR")
    w.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this machine "
                                                        "only)")
    w.add_argument("--port", default="8000", help="the port (default 8000; 0: any free port, printed)")
    w.set_defaults(func=cmd_watch)
