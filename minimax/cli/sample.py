"""``minimax sample RUN_DIR``: draw samples from a trained generator, as an array and/or an image grid."""
from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np

from ..config import noise_seed, positive_int
from ..data import IMAGE_DATASETS
from ..errors import MinimaxError
from ..files import atomic_write_bytes
from ..run.resources import check_sample_memory
from ..run.rundir import load_run_config, output_file
from ..run.sampling import class_indices, sample
from ..run.trained import load_trained
from ..viz.grids import save_image_grid


def cmd_sample(args: argparse.Namespace) -> int:
    n = positive_int(args.n, "--n")
    seed = noise_seed(args.seed)
    cfg = load_run_config(args.run_dir)  # (cheap: the checks below come before loading any weights)
    if args.classes is not None and not args.classes.strip():
        raise MinimaxError("--class needs class names or indices (or 'all')")
    classes = class_indices(args.classes, cfg.class_names, cfg.condition != "none") if args.classes else None
    if args.grid and cfg.dataset not in IMAGE_DATASETS:
        raise MinimaxError("--grid needs an image dataset; this run's data are vectors")
    if not args.out and not args.grid:  # the default: an array in the run directory, named by what it holds
        which = "-class" + args.classes.replace(",", "_") if args.classes else ""
        args.out = str(Path(args.run_dir) / f"sample-n{n}-seed{seed}{which}.npy")
    # new files or regular files; in a run directory only the sampler's own (sample*.npy, sample*.png)
    out = output_file(args.out, "--out", lambda name: name.startswith("sample") and name.endswith(".npy")) \
        if args.out else None
    grid = output_file(args.grid, "--grid", lambda name: name.startswith("sample") and name.endswith(".png")) \
        if args.grid else None
    if out is not None and out == grid:
        raise MinimaxError("--out and --grid name the same file")

    run = load_trained(args.run_dir)
    check_sample_memory(n * len(classes or [0]), run.data.shape, "--n")
    x = sample(run, n, classes, seed)
    flat = x.reshape(len(x), -1).numpy().astype(np.float32)
    if args.out:
        buf = io.BytesIO()
        np.save(buf, flat)
        try:
            atomic_write_bytes(out, buf.getvalue())
        except OSError as e:
            raise MinimaxError(f"cannot write {args.out}: {e.strerror or e}") from None
        per = f" ({n} of each of classes {', '.join(map(str, classes))}, in that order)" if classes else ""
        print(f"wrote {len(flat)} samples of dimension {flat.shape[1]} to {args.out}{per}")
    if args.grid:
        save_image_grid(x.numpy(), grid, cols=n if classes else None)
        rows = f" (one row per class: {', '.join(map(str, classes))})" if classes else ""
        print(f"wrote a grid of {len(x)} images to {args.grid}{rows}")
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("run_dir", help="a run directory written by 'minimax train'")
    s.add_argument("--n", default="1000", help="number of samples (default: 1000)")
    s.add_argument("--out", help="write the samples as a float32 .npy array of shape (N, features) (default, without "
                                 "--grid: RUN_DIR/sample-nN-seedS.npy)")
    s.add_argument("--grid", help="write the samples as a PNG image grid (image datasets)")
    # (outputs: a new file or a regular one; inside a run directory only new names or the sampler's sample*.npy/png)
    s.add_argument("--seed", default="0", help="seed of the noise (default: 0)")
    s.add_argument("--class", dest="classes", metavar="C1,C2,...",
                   help="conditional runs: sample these classes (indices or names, or 'all'), --n of each; "
                        "the grid has one row per class")
    s.set_defaults(func=cmd_sample)
