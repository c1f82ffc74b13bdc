"""A trained generator as a file that plain PyTorch loads, without minimax: ``torch.export``'s program format.

    minimax export runs/mine                        # -> runs/mine/generator.pt2

    import json, torch                              # elsewhere: no minimax needed
    info = {"minimax.json": ""}
    G = torch.export.load("generator.pt2", extra_files=info).module()
    info = json.loads(info["minimax.json"])
    z = torch.randn(16, info["latent_dim"])          # the run's prior: info["prior"] (uniform: torch.rand(...)*2-1)
    x = G(z)                                        # data space: pixels in [0, 1], [16, C, H, W] for images

The program is G in eval mode (BatchNorm's running statistics) followed by the data's map to data space
(``to_data_space``: tanh outputs to [0, 1] for images, the identity for the toy sets), any batch size, on the CPU;
a conditional generator takes ``(z, c)`` with c the class indices. Which weights: the run's weight average
(--g-ema / --g-uniform-average-from) when it kept one, as ``minimax sample`` does, else G; ``weights='raw'``
takes G. Like every pickle-based format, load only files you trust; the format may change with torch
versions (the run's checkpoints, safetensors, are the long-term record).
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import torch

from .._version import __version__
from ..errors import MinimaxError
from .generator import WEIGHTS, Generator, load

INFO = "minimax.json"  # the extra file that describes the program's input and output


def generator_info(G: Generator) -> dict:
    """What a user of the exported file needs to know: the noise to feed, the classes, what comes out."""
    cfg = G.cfg
    return {"minimax_version": __version__, "run": str(G.run_dir), "step": G.step, "weights": G.weights,
            "dataset": cfg.dataset, "latent_dim": cfg.latent_dim, "prior": cfg.prior,
            "prior_formula": "z ~ N(0, I)" if cfg.prior == "normal" else "z ~ U[-1, 1]^latent_dim",
            "conditional": G.conditional, "class_names": list(cfg.class_names or []),
            "output_shape": list(G.shape), "output": "pixels in [0, 1]" if len(G.shape) > 1
            else "points in data space"}


def export_generator(run_dir: str | Path, weights: str = "auto") -> tuple[bytes, dict]:
    """(the .pt2 file's bytes, its info) for the run's generator (see the module docstring)."""
    if weights not in WEIGHTS:
        raise MinimaxError(f"--weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    module = load(run_dir, weights).to("cpu", memory_format=torch.contiguous_format)  # (a channels-last run's)
    z = torch.zeros(2, module.latent_dim)
    batch = torch.export.Dim("batch", min=1)
    if module.conditional:
        args, shapes = (z, torch.zeros(2, dtype=torch.int64)), ({0: batch}, {0: batch})
    else:
        args, shapes = (z,), ({0: batch},)
    with torch.no_grad():
        program = torch.export.export(module, args, dynamic_shapes=shapes)
    info = generator_info(module)
    buf = io.BytesIO()
    torch.export.save(program, buf, extra_files={INFO: json.dumps(info, indent=2)})
    return buf.getvalue(), info
