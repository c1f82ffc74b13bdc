r"""Watching the game move: what each snapshot records, and the report's replay of a run.

At every snapshot a run on 1-D or 2-D data records, besides its samples, the **discriminator field**:
D (in the game's units) on a fixed grid over the data, and on 1-D data the **map** z ↦ x = G(z) on a
grid of quantiles of the noise — along the one noise coordinate, or with several along the direction in
which G varies most — everything Figure 1 of Goodfellow et al. (2014) draws
(``samples/field-XXXXXXXX.npz``; a conditional run records class 0's).

The replay (:func:`replay_html`) is one frame per snapshot — the samples over the data density with D's
decision surface (2-D), the Figure-1 panel (1-D) or the sample grid from the same fixed noise (images) —
beside V̂ (or L_D) and mean D(G(z)) with a marker at the frame's step, and an inline script with a slider
and a play button: offline, in the report's one HTML file.
"""
from __future__ import annotations

import html
import io
import json
from pathlib import Path

import numpy as np
import torch

from .checkpoint import atomic_write_bytes
from .players import eval_mode
from .rundir import SAMPLES, field_files, field_name

FIELD_POINTS_1D = 400
FIELD_SIDE_2D = 90
MAP_LINES = 21
MAP_SEED = 2014


def field_extent(data) -> tuple[np.ndarray, np.ndarray]:
    """The box the field covers: the data's modes ± (0.5 + 6σ)."""
    c = data.centres.numpy()
    pad = 0.5 + 6 * data.std
    return c.min(0) - pad, c.max(0) + pad


def field_grid(data) -> torch.Tensor:
    """The points D is recorded at: a line of FIELD_POINTS_1D points, or a FIELD_SIDE_2D² grid (x fastest)."""
    lo, hi = field_extent(data)
    if data.dim == 1:
        return torch.linspace(float(lo[0]), float(hi[0]), FIELD_POINTS_1D)[:, None]
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], FIELD_SIDE_2D), np.linspace(lo[1], hi[1], FIELD_SIDE_2D))
    return torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1)).float()


def prior_quantiles(prior: str, n: int) -> torch.Tensor:
    """n evenly spaced quantiles (i + ½)/n of one coordinate of p_z."""
    q = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return (2 * q - 1 if prior == "uniform" else torch.special.ndtri(q)).float()


def map_direction(game, n: int = 1024) -> torch.Tensor:
    """The unit direction ŵ of noise space along which G's output varies most, to first order: the
    least-squares fit x ≈ a + wᵀz over n fixed noise samples. With one noise coordinate, ŵ = 1."""
    if game.cfg.latent_dim == 1:
        return torch.ones(1)
    z = torch.randn(n, game.cfg.latent_dim, generator=torch.Generator().manual_seed(MAP_SEED))
    with eval_mode(game.sampler) as G:
        x = _g(game, G, z)
    design = torch.cat([z, torch.ones(n, 1)], 1).double()
    w = torch.linalg.lstsq(design, x.double()[:, None]).solution[:-1, 0]
    return (w / w.norm().clamp_min(1e-12)).float()


def _g(game, G, z: torch.Tensor) -> torch.Tensor:
    """G(z) in data space, flattened to one coordinate (class 0 in a conditional run)."""
    c = torch.zeros(len(z), dtype=torch.long, device=game.device) if game.conditional else None
    z = z.to(game.device)
    return game.data.to_data_space(G(z) if c is None else G(z, c)).reshape(len(z)).cpu().float()


@torch.no_grad()
def discriminator_field(game) -> dict[str, np.ndarray]:
    """D on :func:`field_grid`; for 1-D data also the map z → G(z) along the line through a typical z₀ on which
    ŵ·z = t, t the prior's quantiles (i + ½)/n (normal prior: ŵ·z ~ N(0, 1), as each coordinate of z is; uniform
    prior: ŵ = the first coordinate)."""
    grid = field_grid(game.data)
    label = torch.zeros(len(grid), dtype=torch.long) if game.conditional else None
    out = {"grid": grid.numpy(), "d": game.discriminator_output(grid, label).cpu().float().numpy()}
    if game.data.dim == 1:
        t = prior_quantiles(game.cfg.prior, MAP_LINES)
        direction = map_direction(game) if game.cfg.prior == "normal" else torch.eye(game.cfg.latent_dim)[0]
        # through a typical noise vector z₀ (not through 0, which is far from where p_z has its mass in many
        # dimensions): z = z₀ + (t − ŵ·z₀) ŵ, so that ŵ·z = t
        z0 = torch.randn(game.cfg.latent_dim, generator=torch.Generator().manual_seed(MAP_SEED + 1))
        if game.cfg.prior == "uniform":
            z0 = z0.clamp(-1, 1)
        z = z0[None, :] + (t - direction @ z0)[:, None] * direction[None, :]
        with eval_mode(game.sampler) as G:
            gz = _g(game, G, z)
        out.update(u=t.numpy(), gz=gz.numpy(), latent=np.zeros(game.cfg.latent_dim, np.float32))
    return out


def save_field(run_dir: Path, game) -> None:
    buf = io.BytesIO()
    np.savez(buf, **discriminator_field(game))
    atomic_write_bytes(Path(run_dir) / SAMPLES / field_name(game.step), buf.getvalue())


def load_fields(run_dir: Path) -> dict[int, dict[str, np.ndarray]]:
    """{step: field} of a run (plain arrays only: a file that needs unpickling is skipped)."""
    out = {}
    for step, path in field_files(run_dir).items():
        try:
            with np.load(path, allow_pickle=False) as f:
                out[step] = {k: f[k] for k in f.files}
        except (ValueError, OSError):
            continue
    return out


def replay_html(frames: list[tuple[int, str]], key: str) -> str:
    """A slider and a play button through ``frames`` ((step, image data URI) pairs), with an inline script."""
    if not frames:
        return ""
    k = html.escape(key)
    steps, uris = [s for s, _ in frames], [u for _, u in frames]
    last = len(frames) - 1
    return f"""<div class="replay" id="replay-{k}">
<div><button type="button" class="replay-play">&#9654; play</button>
<input type="range" class="replay-slider" min="0" max="{last}" value="{last}" step="1" aria-label="snapshot">
<span class="replay-step">step {steps[-1]}</span></div>
<img class="replay-frame" src="{uris[-1]}" alt="the game at a snapshot">
<script>(function () {{
  const root = document.getElementById("replay-{k}");
  const frames = {json.dumps(uris)}, steps = {json.dumps(steps)};
  const slider = root.querySelector(".replay-slider"), img = root.querySelector(".replay-frame");
  const label = root.querySelector(".replay-step"), button = root.querySelector(".replay-play");
  let timer = null;
  function show(i) {{ slider.value = i; img.src = frames[i]; label.textContent = "step " + steps[i]; }}
  slider.addEventListener("input", () => show(Number(slider.value)));
  button.addEventListener("click", () => {{
    if (timer) {{ clearInterval(timer); timer = null; button.innerHTML = "&#9654; play"; return; }}
    if (Number(slider.value) >= frames.length - 1) show(0);
    button.innerHTML = "&#10074;&#10074; pause";
    timer = setInterval(() => {{
      const i = Number(slider.value) + 1;
      if (i >= frames.length) {{ clearInterval(timer); timer = null; button.innerHTML = "&#9654; play"; return; }}
      show(i);
    }}, 600);
  }});
}})();</script>
</div>"""
