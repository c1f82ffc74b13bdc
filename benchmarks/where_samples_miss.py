"""Where a grid run's imprecise samples lie: for each run folder's last samples (samples/step-*.npy, 2,500
points), the median distance of the samples beyond 3σ of every centre to the nearest centre, and the share of
them inside the grid's square (within 3σ of its edge). A median near 1 with most samples inside means samples
between the modes (the centres are 2 apart); a large share outside means samples off the data.

    python benchmarks/where_samples_miss.py runs/held-out/grid-hinge-*
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from minimax.data.toy import grid  # noqa: E402

_GRID = grid()
CENTRES = _GRID.centres.double().numpy()
THREE_SIGMA = 3 * _GRID.std
EDGE = float(np.abs(CENTRES).max())


def where(samples: np.ndarray) -> tuple[float, float, float]:
    """(share beyond 3σ, their median distance to the nearest centre, their share inside the square)."""
    d = np.sqrt(((samples[:, None] - CENTRES[None]) ** 2).sum(-1)).min(1)
    far = samples[d > THREE_SIGMA]
    if not len(far):
        return 0.0, 0.0, 0.0
    inside = (np.abs(far) <= EDGE + THREE_SIGMA).all(1).mean()
    return len(far) / len(samples), float(np.median(d[d > THREE_SIGMA])), float(inside)


def main() -> int:
    print("| run | beyond 3σ | their median distance to a centre | inside the square |\n|---|---|---|---|")
    for run in sys.argv[1:]:
        last = sorted(Path(run).glob("samples/step-*.npy"))
        if not last:
            print(f"| {run} | no samples | | |")
            continue
        share, median, inside = where(np.load(last[-1]).reshape(-1, 2))
        print(f"| {run} | {100 * share:.1f}% | {median:.2f} | {100 * inside:.0f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
