"""Start-up: ``import minimax`` loads neither torch nor matplotlib and measures nothing; ``minimax --help`` and
every ``minimax COMMAND --help`` print without loading torch; the first use of a name loads what it needs."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "matplotlib", "numpy")


def loaded_after(code: str) -> list[str]:
    """The heavy packages a fresh interpreter holds after running ``code`` (whose own output is discarded), in
    an environment without OMP_WAIT_POLICY (this test process may have chosen one)."""
    probe = (f"import io, sys, contextlib\nwith contextlib.redirect_stdout(io.StringIO()):\n"
             f"    {code}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True,
                         env=env)
    return [m for m in out.stdout.strip().split(",") if m]


def test_import_minimax_loads_nothing_heavy_and_measures_nothing():
    """(No measurement: the wait policy is left unchosen, which a busy-machine reading would have set here.)"""
    code = ("import minimax, minimax.openmp; minimax.openmp.busy_cores = lambda *a: 9.0; minimax.__version__, "
            "minimax.MinimaxError, minimax.TrainConfig; assert 'OMP_WAIT_POLICY' not in __import__('os').environ")
    assert loaded_after(code) == []


def test_the_first_use_of_a_name_loads_it():
    assert "torch" in loaded_after("import minimax; minimax.log_d")
    assert "matplotlib" not in loaded_after("import minimax; minimax.train")  # matplotlib loads only to draw


@pytest.mark.parametrize("command", [[], ["train"], ["sample"], ["eval"], ["eval", "fid"], ["eval", "modes"],
                                     ["report"], ["export"], ["download"]])
def test_help_does_not_load_torch(command):
    code = (f"from minimax.cli import main\n    try:\n        main({[*command, '--help']!r})\n"
            "    except SystemExit as e:\n        assert e.code == 0")
    assert loaded_after(code) == []


def test_help_through_the_entry_point_prints_every_command():
    out = subprocess.run([sys.executable, "-m", "minimax", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    for command in ("train", "sample", "eval", "report", "export", "download"):
        assert command in out.stdout
