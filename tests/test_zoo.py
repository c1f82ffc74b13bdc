"""Pretrained runs (minimax.zoo): a players-only checkpoint that samples, reports and exports but never trains, the
zoo:NAME copy in the cache (the package never written to), and every shipped entry loads and, for the toy sets,
reproduces the metrics its zoo.json states."""
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch

import minimax
from minimax import zoo
from minimax.cli import main
from minimax.run import checkpoint as ckpt
from minimax.run.rundir import CHECKPOINTS, LATEST, checkpoint_name


def make_entry(run, folder, name, dtype=None):
    """An entry as benchmarks/make_zoo.py makes one (its config, summary and one players-only checkpoint)."""
    out = folder / name
    (out / CHECKPOINTS).mkdir(parents=True)
    for f in ("config.json", "summary.json"):
        shutil.copy(run / f, out / f)
    tensors, meta = ckpt.read_latest(run)
    (out / CHECKPOINTS / checkpoint_name(meta["step"])).write_bytes(ckpt.players_only(tensors, meta, dtype=dtype))
    (out / CHECKPOINTS / LATEST).write_text(checkpoint_name(meta["step"]) + "\n")
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) + ["zoo.json"]
    (out / "zoo.json").write_text(json.dumps({"title": f"{name} test", "command": "minimax train ...", "minutes": 0.1,
                                              "machine": "test", "metrics": {"modes": 8}, "files": sorted(files)}))
    return out


def tree_digest(folder):
    return hashlib.sha256(b"".join(p.relative_to(folder).as_posix().encode() + p.read_bytes()
                                   for p in sorted(folder.rglob("*")) if p.is_file())).hexdigest()


@pytest.fixture
def shelf(tmp_path, monkeypatch):
    """A zoo of two entries of one ring run (float32 with a weight average, and float16), the cache in tmp."""
    run = tmp_path / "run"
    minimax.train(minimax.TrainConfig(dataset="ring", steps=30, g_hidden=(16,), d_hidden=(16,), batch_size=32,
                                      eval_samples=200, g_ema=0.9, out=str(run)), progress=False, plots=False)
    runs = tmp_path / "zoo"
    make_entry(run, runs, "ring")
    make_entry(run, runs, "ring16", dtype=torch.float16)
    monkeypatch.setattr(zoo, "RUNS", runs)
    monkeypatch.setenv("MINIMAX_CACHE", str(tmp_path / "cache"))
    return run, runs


def test_a_pretrained_run_samples_reports_and_exports_from_a_copy_and_never_trains(shelf, capsys, tmp_path,
                                                                                   monkeypatch):
    run, runs = shelf
    before = tree_digest(runs)
    assert main(["zoo"]) == 0
    listing = capsys.readouterr().out
    assert "zoo:ring " in listing and "zoo:ring16" in listing and "modes 8" in listing
    G = minimax.load("zoo:ring")
    assert G.weights == "average" and torch.equal(G.sample(50, seed=1), minimax.load(run).sample(50, seed=1))
    with pytest.raises(minimax.MinimaxError, match="keeps only the weight average"):
        minimax.load("zoo:ring", weights="raw")
    # float16 storage: float32 players, samples within float16's rounding of the run's
    x16, x32 = minimax.load("zoo:ring16").sample(50, seed=1), G.sample(50, seed=1)
    assert x16.dtype == torch.float32 and 0 < float((x16 - x32).abs().max()) < 1e-2
    monkeypatch.chdir(tmp_path)  # what the commands name themselves comes here, named after the entry
    for args in (["sample", "zoo:ring", "--n", "5"], ["report", "zoo:ring"], ["export", "zoo:ring"]):
        assert main(args) == 0, args
    out = capsys.readouterr().out
    assert "wrote 5 samples of dimension 2 to ring-sample-n5-seed0.npy" in out
    assert {p.name for p in tmp_path.iterdir()} >= {"ring-sample-n5-seed0.npy", "ring-report.html",
                                                     "ring-generator.pt2"}
    cached = zoo.resolve("zoo:ring")
    assert cached.startswith(str(runs.parent / "cache")) and not list(Path(cached).glob("sample-*"))
    assert zoo.resolve("zoo:ring") == cached  # unpacked once, reused with the files commands wrote
    assert tree_digest(runs) == before  # the package's files are never written to
    assert main(["train", "--resume", "zoo:ring", "--steps", "40"]) == 2
    err = capsys.readouterr().err
    assert "holds the players only" in err and err.count("\n") == 1


def test_zoo_get_copies_an_entry_and_a_tampered_cache_is_made_again(shelf, tmp_path, capsys):
    _, runs = shelf
    assert main(["zoo", "get", "ring", "--out", str(tmp_path / "mine")]) == 0
    assert tree_digest(tmp_path / "mine") == tree_digest(runs / "ring")
    assert main(["zoo", "get", "ring", "--out", str(tmp_path / "mine")]) == 2  # not empty: refused
    assert main(["zoo", "get", "nothing"]) == 2
    assert "no zoo entry 'nothing'; the entries: ring, ring16" in capsys.readouterr().err
    cached = Path(zoo.resolve("zoo:ring"))
    (cached / "config.json").write_text("{}")  # a shipped file edited in the cache
    again = Path(zoo.resolve("zoo:ring"))
    assert json.loads((again / "config.json").read_text())["dataset"] == "ring"


# ----------------------------------------------------------------------------------------------
# the entries this package ships
@pytest.mark.parametrize("name", zoo.names())
def test_every_shipped_entry_loads_samples_and_states_its_recipe(name):
    entry = zoo.entry(name)
    for key in ("title", "command", "minutes", "machine", "metrics", "stored", "files"):
        assert key in entry, key
    G = minimax.load(zoo.path(name))  # (read-only: loading writes nothing)
    x = G.sample(64, seed=0)
    assert x.shape == (64, *G.shape) and torch.isfinite(x).all()
    cfg = G.cfg
    if cfg.dataset in ("ring", "grid", "gauss1d"):  # the summary's protocol, on the weights as shipped
        from minimax.data import load_dataset
        from minimax.metrics.modes import mode_metrics
        from minimax.run.snapshots import EVAL_SEED_OFFSET

        data = load_dataset(cfg)
        got = mode_metrics(G.sample(cfg.eval_samples, seed=cfg.seed + EVAL_SEED_OFFSET), data.centres, data.std)
        assert got["modes"] == entry["metrics"]["modes"]
        assert abs(100 * got["high_quality"] - float(entry["metrics"]["high_quality"].rstrip("%"))) < 0.3
    else:
        assert 0 <= float(x.min()) and float(x.max()) <= 1


def test_the_zoo_stays_small():
    """All entries together stay under 30 MB (the wheel carries them)."""
    assert sum(zoo.size(name) for name in zoo.names()) < 30e6


def test_a_reader_that_goes_away_ends_the_listing_quietly():
    """minimax zoo | head: the pipe closes before minimax writes; it stops with 141 (SIGPIPE's) and no error line."""
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-m", "minimax", "zoo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # (before the interpreter has even started)
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) in (0, 141) and "error" not in err and "Traceback" not in err, err
