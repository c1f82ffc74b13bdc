"""``minimax sample RUN_DIR``: draw samples from a trained generator, as an array and/or an image grid; with
``--interpolate N``, G along N paths in noise space (a strip of images per path, a GIF, or an array)."""
from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

from .. import registry
from ..catalogue import PATHS
from ..config import noise_seed, positive_int
from ..errors import MinimaxError
from ..files import atomic_write_bytes, open_append, read_text
from ..run.rundir import holds_run, load_run_config, output_file
from .outputs import default_output

FORMATS = ("npy", "png")
MAX_SCALE = 16  # (minimax.viz.grids.MAX_SCALE; kept here so that --help loads no image library)


SAMPLED = ".sampled"  # in a run: the names of the files minimax sample wrote there under names you chose


def _sampler_file(suffix: str, folder: Path):
    """Whether a file of ``folder`` (a run) is the sampler's own, which it may replace: sample*.<suffix>, or a name
    it wrote there before (listed in RUN/.sampled: a --gif walk.gif can be drawn again)."""
    try:
        written = set(read_text(folder / SAMPLED).split("\n")) if (folder / SAMPLED).is_file() else set()
    except (OSError, UnicodeDecodeError, MinimaxError):
        written = set()
    return lambda name: name.endswith(suffix) and (name.startswith("sample") or name in written)


def _remember(path: Path) -> None:
    """Note a file the sampler wrote into a run under a name of the user's (see _sampler_file)."""
    folder = path.parent
    if holds_run(folder) and not path.name.startswith("sample"):
        with open_append(folder / SAMPLED, folder) as f:
            f.write(path.name + "\n")


def cmd_sample(args: argparse.Namespace) -> int:
    from ..run.generator import WEIGHTS
    from ..run.sampling import class_indices
    from ..viz.grids import save_image_grid

    seed = noise_seed(args.seed)
    cfg = load_run_config(args.run_dir)  # (cheap: the checks below come before loading any weights)
    if args.classes is not None and not args.classes.strip():
        raise MinimaxError("--class needs class names or indices (or 'all')")
    classes = class_indices(args.classes, cfg.class_names, cfg.condition != "none") if args.classes else None
    images = registry.datasets()[cfg.dataset].images
    for flag, given in (("--grid", args.grid), ("--gif", args.gif), ("--format png", args.format == "png")):
        if given and not images:
            raise MinimaxError(f"{flag} needs an image dataset; this run's data are vectors")
    if args.format not in FORMATS:
        raise MinimaxError(f"--format must be one of {', '.join(FORMATS)}, got {args.format!r}")
    if args.weights not in WEIGHTS:
        raise MinimaxError(f"--weights must be one of {', '.join(WEIGHTS)}, got {args.weights!r}")
    args.scale = _scale(args.scale)
    if args.interpolate is not None:
        return _interpolate(args, cfg, classes, seed, images)
    for flag in ("gif", "points", "path"):
        if getattr(args, flag) is not None:
            raise MinimaxError(f"--{flag} draws paths: give --interpolate N with it")
    n = positive_int(args.n if args.n is not None else 1000, "--n")
    which = "-class" + args.classes.replace(",", "_") if args.classes else ""
    if args.format == "png":
        return _sample_png(args, cfg, classes, n, seed, which)
    if not args.out and not args.grid:  # the default: an array in the run directory, named by what it holds
        args.out = default_output(args, args.run_dir, f"sample-n{n}-seed{seed}{which}.npy")
    # new files or regular files; in a run directory only the sampler's own (sample*.npy, sample*.png)
    out, grid, _ = _outputs(args)

    G = _generator(args, n * len(classes or [0]), "--n")
    x = G.sample(n, seed, classes).cpu()
    if args.out:
        flat = _write_array(x, out, args.out)
        per = f" ({n} of each of classes {', '.join(map(str, classes))}, in that order)" if classes else ""
        print(f"wrote {len(flat)} samples of dimension {flat.shape[1]} to {args.out}{per}")
    if args.grid:
        names = [cfg.class_names[c] for c in classes] if classes else None
        save_image_grid(x.numpy(), grid, cols=n if classes else None, scale=args.scale, row_labels=names)
        _remember(grid)
        rows = f" (one row per class: {', '.join(names)})" if classes else ""
        print(f"wrote a grid of {len(x)} images to {args.grid}{rows}")
    return 0


def _generator(args: argparse.Namespace, count: int, flag: str):
    """The run's generator (--weights), once ``count`` samples are known to fit in memory (``flag`` sets it)."""
    from ..run.generator import load
    from ..run.resources import check_sample_memory

    G = load(args.run_dir, args.weights)
    check_sample_memory(count, G.shape, flag)
    return G


def _scale(raw) -> int:
    scale = positive_int(raw if raw is not None else 1, "--scale")
    if scale > MAX_SCALE:
        raise MinimaxError(f"--scale must be at most {MAX_SCALE}, got {scale}")
    return scale


def _sample_png(args: argparse.Namespace, cfg, classes, n: int, seed: int, which: str) -> int:
    """``--format png``: N numbered PNG files in the folder --out (new or empty; written whole or not at all);
    a conditional run's in one sub-folder per class (named by the class), numbered across the folders."""
    import numpy as np
    import torch

    from ..files import atomic_write_folder, new_folder
    from ..viz.grids import image_png

    for flag in ("grid", "gif"):
        if getattr(args, flag):
            raise MinimaxError(f"--{flag} and --format png: write the PNG files and the {flag} in two calls")
    out = args.out or default_output(args, args.run_dir, f"sample-n{n}-seed{seed}{which}-png")
    new_folder(out, "--out")
    G = _generator(args, n * len(classes or [0]), "--n")
    if classes:
        x, c = G.sample(n, seed, classes).cpu(), torch.tensor(classes).repeat_interleave(n)
    elif G.conditional:
        x, c = (t.cpu() for t in G.sample_labelled(n, seed))
    else:
        x, c = G.sample(n, seed).cpu(), None
    x = x.numpy()
    digits = max(6, len(str(len(x) - 1)))
    names = None if c is None else [cfg.class_names[int(k)] for k in c]

    def files():
        for i in range(len(x)):
            name = f"{i:0{digits}d}.png"
            yield (name if names is None else f"{names[i]}/{name}"), image_png(x[i])

    written = atomic_write_folder(out, files(), "--out")
    per = "" if names is None else f" in {len(set(names))} class folders"
    print(f"wrote {written} PNG images of {'x'.join(map(str, np.shape(x)[2:]))} pixels to {out}{per}")
    return 0


def _outputs(args: argparse.Namespace) -> tuple:
    """(--out, --grid, --gif) as paths: new files or regular ones; in a run directory only the sampler's own."""
    wanted = ((args.out, "--out", ".npy"), (args.grid, "--grid", ".png"), (args.gif, "--gif", ".gif"))
    paths = tuple(output_file(given, flag, _sampler_file(suffix, Path(os.path.realpath(given)).parent))
                  if given else None for given, flag, suffix in wanted)
    named = [p for p in paths if p is not None]
    if len(set(named)) < len(named):
        raise MinimaxError("two of --out, --grid and --gif name the same file")
    return paths


def _write(path: Path, data: bytes, shown: str) -> None:
    """``data`` into ``path`` atomically; a refusal of the machine is a one-line error naming ``shown``."""
    try:
        atomic_write_bytes(path, data)
    except OSError as e:
        raise MinimaxError(f"cannot write {shown}: {e.strerror or e}") from None


def _write_array(x, path: Path, shown: str):
    """Samples as a float32 array [N, features] in a .npy file, atomically."""
    import numpy as np

    flat = x.reshape(len(x), -1).numpy().astype(np.float32)
    buf = io.BytesIO()
    np.save(buf, flat)
    _write(path, buf.getvalue(), shown)
    _remember(path)
    return flat


def _interpolate(args: argparse.Namespace, cfg, classes, seed: int, images: bool) -> int:
    """``--interpolate N``: G along N noise paths of --points points each (minimax.run.sampling.interpolate)."""
    from ..data.prior import path_kind
    from ..run.sampling import interpolate
    from ..viz.grids import animation_gif, save_image_grid

    if args.n is not None:
        raise MinimaxError("--n and --interpolate: --interpolate N draws N paths, --points the images on each")
    paths = positive_int(args.interpolate, "--interpolate")
    points = positive_int(args.points if args.points is not None else 10, "--points")
    if points < 2:
        raise MinimaxError("--points must be at least 2 (the two ends of each path)")
    path = "auto" if args.path is None else args.path  # (an empty --path is refused, not read as auto)
    if path not in PATHS:
        raise MinimaxError(f"--path must be one of {', '.join(PATHS)}, got {path!r}")
    if not (args.out or args.grid or args.gif):  # the default: a strip per path (images) or an array, in the run
        name = f"sample-interpolate-{paths}x{points}-seed{seed}"
        if images:
            args.grid = default_output(args, args.run_dir, f"{name}.png")
        else:
            args.out = default_output(args, args.run_dir, f"{name}.npy")
    if args.format == "png":
        raise MinimaxError("--format png writes --n samples; --interpolate writes a strip per path (--grid) or a GIF")
    out, grid, gif = _outputs(args)
    G = _generator(args, paths * points, "--interpolate × --points")
    x = interpolate(G, paths, points, path, seed, classes)  # [paths, points, ...]
    what = f"{paths} {path_kind(path, cfg.prior)} paths of {points} points"
    if args.out:
        _write_array(x.reshape(paths * points, *x.shape[2:]), out, args.out)
        print(f"wrote {what} to {args.out} (path after path, {paths * points} rows)")
    if args.grid:
        names = [cfg.class_names[classes[i % len(classes)]] for i in range(paths)] if classes else None
        save_image_grid(x.reshape(paths * points, *x.shape[2:]).numpy(), grid, cols=points, scale=args.scale,
                        row_labels=names)
        _remember(grid)
        print(f"wrote {what} to {args.grid} (one row per path)")
    if args.gif:
        _write(gif, animation_gif(x.transpose(0, 1).numpy(), scale=args.scale), args.gif)
        _remember(gif)
        print(f"wrote {what} to {args.gif} (one frame per point, every path in each frame, forth and back)")
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("run_dir", help="a run directory written by 'minimax train'")
    s.add_argument("--n", default=None, help="number of samples (default: 1000)")
    s.add_argument("--out", help="write the samples as a float32 .npy array of shape (N, features) (default, without "
                                 "--grid: RUN_DIR/sample-nN-seedS.npy); with --format png, the folder of PNG files "
                                 "(new or empty; default RUN_DIR/sample-nN-seedS-png)")
    s.add_argument("--format", default="npy",
                   help="'npy' (one array) or 'png' (image datasets: N numbered PNG files in the folder --out, a "
                        "conditional run's in one sub-folder per class) (default: npy)")
    s.add_argument("--grid", help="write the samples as a PNG image grid (image datasets; with --class, one row per "
                                  "class, labelled)")
    s.add_argument("--scale", default=None, help=f"--grid and --gif: draw each pixel as an SxS block, S up to "
                                                 f"{MAX_SCALE} (default: 1)")
    s.add_argument("--weights", default="auto",
                   help="which weights of G: 'average' (the weight average the run kept), 'raw' (G's own) or 'auto' "
                        "(the average when the run kept one) (default: auto)")
    # (outputs: a new file or a regular one; inside a run directory only new names or the sampler's sample*.npy/png)
    s.add_argument("--seed", default="0", help="seed of the noise (default: 0)")
    s.add_argument("--interpolate", metavar="N", default=None,
                   help="draw G along N paths between pairs of noise vectors z0, z1 ~ p_z instead of --n samples "
                        "(default output: RUN_DIR/sample-interpolate-NxP-seedS.png, one row per path; vector data: "
                        ".npy)")
    s.add_argument("--points", metavar="P", default=None, help="--interpolate: points on each path, both ends "
                                                               "included (default: 10)")
    s.add_argument("--path", default=None, help="--interpolate: 'slerp' (great circle), 'lerp' (straight line) or "
                                                "'auto': slerp under the normal prior, lerp under the uniform one "
                                                "(default: auto)")
    s.add_argument("--gif", help="--interpolate: write a looping GIF, one frame per point along the paths")
    s.add_argument("--class", dest="classes", metavar="C1,C2,...",
                   help="conditional runs: sample these classes (indices or names, or 'all'), --n of each; "
                        "the grid has one row per class (--interpolate: path i is of the i-th class, cycling)")
    s.set_defaults(func=cmd_sample)
