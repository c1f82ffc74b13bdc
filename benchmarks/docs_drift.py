"""How far the numbers of a documentation page's outputs move when the last bits of the arithmetic change: runs
the page (tests/markdown_runner.py) in a fresh folder and prints every number that differs from the page, with
its label. Run it with another thread count than the page was recorded with (the pages are recorded with
torch's default, one thread per core; the test suite runs with one thread), or on another CPU:

    OMP_NUM_THREADS=1 python benchmarks/docs_drift.py docs/tutorial.md docs/howto.md

The ``<!-- tolerance: LABEL ±X -->`` comments in the pages are set from this output (docs/README's rule: about
twice the largest move measured, and never so loose that a wrong optimum or a mode count off by one passes
where the number is not chaotic)."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from markdown_runner import run_page  # noqa: E402


def main(pages: list[str], keep: str | None = None) -> None:
    for page in pages:
        drift: list = []
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(keep) / Path(page).stem if keep else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            problems = run_page(Path(page).resolve(), folder, drift=drift)
        print(f"== {page}: {len(drift)} numbers moved, {len(problems)} problems under the page's tolerances")
        for where, label, shown, got in drift:
            print(f"  {where:<16} {label[-28:]:>28}  {shown:>10} -> {got:<10} ({float(got) - float(shown):+.4g})")
        for problem in problems:
            print("  problem:", problem.replace("\n", " | "))


if __name__ == "__main__":
    args = sys.argv[1:]
    keep = args[args.index("--keep") + 1] if "--keep" in args else None  # keep the runs (their pictures) here
    pages = [a for a in args if a.endswith(".md")]
    main(pages or ["docs/tutorial.md", "docs/howto.md"], keep)
