"""A run's own files (#39, points 1-4 and 6): never written through a link planted in the run, never a hang on a
FIFO where a file should be, caches that verify what they hold, and a replaced file that keeps its mode."""
import os
import stat
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save as safetensors_bytes
from test_hostile import TINY, cli, one_line_error, snapshot, tiny_run

from minimax.errors import MinimaxError
from minimax.evaluation import write_record
from minimax.evaluation.reference import Reference, reference_features
from minimax.files import atomic_write_bytes, own_file


def run_cli_with_timeout(args, timeout=120):
    """``minimax ARGS`` in a subprocess: a hang is a failure (rc 124), not a stuck suite."""
    try:
        p = subprocess.run([sys.executable, "-m", "minimax", *map(str, args)], capture_output=True, text=True,
                           timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired:
        return 124, ""
    return p.returncode, p.stderr


def test_an_eval_record_that_is_a_link_does_not_overwrite_another_run(tmp_path, capsys):
    a, b = tiny_run(tmp_path, capsys, "a"), tiny_run(tmp_path, capsys, "b")
    before = snapshot(b)
    (a / "kid.json").symlink_to(b / "config.json")
    with pytest.raises(MinimaxError, match="symbolic link"):
        write_record(a, "kid", {"kid": 0.1})
    (a / "kid.json").unlink()
    (a / "kid.history.jsonl").symlink_to(b / "metrics.jsonl")
    (a / "kid.json").write_text('{"kid": 0.2}')
    with pytest.raises(MinimaxError, match="symbolic link"):
        write_record(a, "kid", {"kid": 0.1})
    assert snapshot(b) == before and (a / "kid.json").read_text() == '{"kid": 0.2}'


def test_resume_does_not_write_a_summary_through_a_link(tmp_path, capsys):
    a, b = tiny_run(tmp_path, capsys, "a"), tiny_run(tmp_path, capsys, "b")
    before = snapshot(b)
    (a / "summary.json").unlink()
    (a / "summary.json").symlink_to(b / "summary.json")
    code, _, err = cli(["train", "--resume", a, "--steps", "8"], capsys)
    one_line_error(code, err, "symbolic link")
    assert snapshot(b) == before


def test_a_folder_linked_out_of_the_run_is_refused():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        run, elsewhere = Path(tmp) / "run", Path(tmp) / "elsewhere"
        run.mkdir(), elsewhere.mkdir()
        (run / "samples").symlink_to(elsewhere)
        with pytest.raises(MinimaxError, match="leads out of"):
            own_file(run / "samples" / "x.npy", run)
        assert own_file(run / "x.npy", run) == run / "x.npy"


@pytest.mark.parametrize("where,command", [
    ("checkpoints/latest", ["sample", "{run}", "--n", "4", "--out", "{tmp}/s.npy"]),
    ("metrics.jsonl", ["report", "{run}"]),
    ("metrics.jsonl", ["train", "--resume", "{run}", "--steps", "8"]),
    ("steering.jsonl", ["train", "--resume", "{run}", "--steps", "8"]),
])
def test_a_fifo_in_a_run_is_a_one_line_error_not_a_hang(tmp_path, capsys, where, command):
    run = tiny_run(tmp_path, capsys)
    (run / where).unlink(missing_ok=True)
    os.mkfifo(run / where)
    code, err = run_cli_with_timeout([a.format(run=run, tmp=tmp_path) for a in command])
    assert code != 124, "hung on a FIFO"
    assert code != 0 and err.count("\n") == 1 and "Traceback" not in err, err


def test_a_fifo_for_an_eval_history_is_refused_before_any_work(tmp_path, capsys):
    from minimax.evaluation import check_replaceable
    from minimax.evaluation.options import EvalOptions

    run = tiny_run(tmp_path, capsys)
    (run / "kid.json").write_text("{}")
    os.mkfifo(run / "kid.history.jsonl")
    with pytest.raises(MinimaxError, match="a FIFO"):
        check_replaceable(run, EvalOptions(metric="kid"), force=False)
    with pytest.raises(MinimaxError, match="a FIFO"):
        write_record(run, "kid", {"kid": 0.1})


def test_a_fifo_as_config_file_is_refused(tmp_path):
    os.mkfifo(tmp_path / "c.toml")
    code, err = run_cli_with_timeout(["train", "--config", tmp_path / "c.toml", *TINY, "--out", tmp_path / "r"])
    assert code == 2 and "a FIFO or socket" in err and err.count("\n") == 1


class Phi:
    """A stand-in feature network of the Inception kind (what the cache is for), φ(x) = the first 4 pixels."""
    kind, dim, record = "inception", 4, {"sha256": "abc"}

    def __init__(self):
        self.calls = 0

    def __call__(self, pixels, shape):
        self.calls += 1
        return pixels[:, :4].clone()


def safe_metadata(path):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return f.metadata()


def test_the_reference_cache_verifies_its_entries(tmp_path):
    reference = Reference(torch.rand(10, 12), (3, 2, 2), {"sha256": "data"})
    phi, said = Phi(), []
    first = reference_features(reference, phi, tmp_path, said.append)
    assert phi.calls == 1 and torch.equal(reference_features(reference, phi, tmp_path, said.append), first)
    assert phi.calls == 1 and "read from the cache" in said[-1]
    (path,) = (tmp_path / "reference-features").glob("*.safetensors")
    key = safe_metadata(path)["key"]
    for entry, needle in [
        (safetensors_bytes({"features": torch.randn(10, 4)}, metadata={"key": key, "n": "10", "sha256": "0"}),
         "digest"),  # other numbers under the key: the old cache used them
        (safetensors_bytes({"features": first.to(torch.float8_e4m3fn)}, metadata={"key": key}), "float8"),
        (safetensors_bytes({"features": first}, metadata={"key": "another"}), "another key"),
        (b"\xff" * 64, "unreadable"),
    ]:
        path.write_bytes(entry)
        calls = phi.calls
        assert torch.equal(reference_features(reference, phi, tmp_path, said.append), first)
        assert phi.calls == calls + 1 and needle in said[-2], said[-2:]
    target = tmp_path / "target.safetensors"
    target.write_bytes(b"keep")
    path.unlink()
    path.symlink_to(target)
    reference_features(reference, phi, tmp_path, said.append)
    assert "symbolic link" in said[-2] and target.read_bytes() == b"keep"  # never read through, nor replaced


def test_a_replaced_file_keeps_its_mode(tmp_path):
    f = tmp_path / "private.npy"
    f.write_bytes(b"old")
    f.chmod(0o600)
    atomic_write_bytes(f, b"new")
    assert f.read_bytes() == b"new" and stat.S_IMODE(f.stat().st_mode) == 0o600
