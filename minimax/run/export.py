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

import copy
import io
import json
from pathlib import Path

import torch
from torch import nn

from .._version import __version__
from ..errors import MinimaxError
from .trained import Trained, load_trained

INFO = "minimax.json"  # the extra file that describes the program's input and output
WEIGHTS = ("auto", "average", "raw")


class Generator(nn.Module):
    """G, then the data's map from G's output to data space: x = to_data_space(G(z)) (or G(z, c))."""

    def __init__(self, G: nn.Module, data, conditional: bool):
        super().__init__()
        self.G, self.data, self.conditional = G, data, conditional

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.data.to_data_space(self.G(z, c) if self.conditional else self.G(z))


def generator_info(run: Trained, weights: str) -> dict:
    """What a user of the exported file needs to know: the noise to feed, the classes, what comes out."""
    cfg = run.cfg
    return {"minimax_version": __version__, "run": str(run.run_dir), "step": run.step, "weights": weights,
            "dataset": cfg.dataset, "latent_dim": cfg.latent_dim, "prior": cfg.prior,
            "prior_formula": "z ~ N(0, I)" if cfg.prior == "normal" else "z ~ U[-1, 1]^latent_dim",
            "conditional": run.conditional, "class_names": list(cfg.class_names or []),
            "output_shape": list(run.data.shape), "output": "pixels in [0, 1]" if len(run.data.shape) > 1
            else "points in data space"}


def export_generator(run_dir: str | Path, weights: str = "auto") -> tuple[bytes, dict]:
    """(the .pt2 file's bytes, its info) for the run's generator (see the module docstring)."""
    if weights not in WEIGHTS:
        raise MinimaxError(f"--weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    run = load_trained(run_dir)
    if weights == "average" and run.G_average is None:
        raise MinimaxError("this run kept no weight average of G (--g-ema, --g-uniform-average-from); "
                           "export --weights raw")
    G = run.G if weights == "raw" else run.sampler
    used = "average" if G is run.G_average else "raw"
    G = copy.deepcopy(G).to("cpu", memory_format=torch.contiguous_format)  # (a channels-last run's weights)
    module = Generator(G, run.data, run.conditional).eval()
    z = torch.zeros(2, run.cfg.latent_dim)
    batch = torch.export.Dim("batch", min=1)
    if run.conditional:
        args, shapes = (z, torch.zeros(2, dtype=torch.int64)), ({0: batch}, {0: batch})
    else:
        args, shapes = (z,), ({0: batch},)
    with torch.no_grad():
        program = torch.export.export(module, args, dynamic_shapes=shapes)
    info = generator_info(run, used)
    buf = io.BytesIO()
    torch.export.save(program, buf, extra_files={INFO: json.dumps(info, indent=2)})
    return buf.getvalue(), info
