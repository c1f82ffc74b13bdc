"""``minimax export RUN_DIR``: the trained generator as one file that plain PyTorch loads (torch.export's .pt2)."""
from __future__ import annotations

import argparse

from ..files import atomic_write_bytes
from ..run.rundir import load_run_config, output_file
from .outputs import default_output


def cmd_export(args: argparse.Namespace) -> int:
    from ..run.export import export_generator

    load_run_config(args.run_dir)  # a clear error for a missing or foreign directory first
    shown = args.out or default_output(args, args.run_dir, "generator.pt2")
    out = output_file(shown, "--out",
                      lambda name: name.startswith("generator") and name.endswith(".pt2"))
    data, info = export_generator(args.run_dir, args.weights)
    atomic_write_bytes(out, data)
    takes = "(z, c), c the class indices" if info["conditional"] else "z"
    print(f"wrote {shown}: G at step {info['step']} ({info['weights']} weights); it takes {takes} with "
          f"{info['prior_formula']} (latent_dim {info['latent_dim']}) and returns {info['output']}, "
          f"[N, {', '.join(map(str, info['output_shape']))}]. Load it with torch.export.load(PATH).module()")
    return 0


def add_parser(sub) -> None:
    e = sub.add_parser("export", help="write the trained generator as a file plain PyTorch loads (no minimax)")
    e.add_argument("run_dir", help="a run directory written by 'minimax train'")
    e.add_argument("--out", help="the .pt2 file (default: RUN_DIR/generator.pt2; for zoo:NAME, NAME-generator.pt2 "
                                 "here)")
    e.add_argument("--weights", default="auto",
                   help="'average' (the run's weight average of G), 'raw' (G itself) or 'auto': the average when "
                        "the run kept one, as 'minimax sample' does (default: auto)")
    e.set_defaults(func=cmd_export)
