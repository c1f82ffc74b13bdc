"""The hostile-input census (#28): hundreds of distinct bad inputs across train, sample, eval and report, made
deterministically (every flag × hostile values, every game × every option, edited run files), each run in
process under a time limit and classified: success, clean refusal (one line, ``minimax: error: ...``, exit 2 or
3), traceback (anything else escaping), hang (over the limit). The census is printed; the test requires 0
tracebacks, 0 hangs, 0 runs whose own files changed under sample, eval or report, and at least 500 inputs."""
import dataclasses
import json
import os
import shutil
import signal
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from test_hostile import TINY
from test_image_data import write_mnist

from minimax.cli import main
from minimax.config import TrainConfig
from minimax.games import GAMES

pytestmark = pytest.mark.slow

LIMIT_S = 60  # per input: a hang
VALUES = ["", " ", "-1", "0", "1e400", "nan", "-inf", "abc", "9" * 40, "1,2", "\x00", "x" * 5000, "１", "0x10",
          " 3 ", "True", "../..", "None"]
SKIP_FIELDS = {"out", "compile"}  # --out is the test's; --compile costs ~15 s of compilation per run (tested alone)
OPTIONS = [["--g-loss", "saturating"], ["--label-smoothing", "0.1"], ["--gp-weight", "10"], ["--pack", "2"],
           ["--r1", "1"], ["--spectral-norm", "on"], ["--condition", "concat"], ["--update", "simultaneous"],
           ["--k", "2"], ["--g-ema", "0.9"], ["--optimizer", "sgd"], ["--lr-decay", "linear"],
           ["--g-uniform-average-from", "2"], ["--on-nan", "rollback"], ["--prior", "uniform"],
           ["--g-norm", "batch"], ["--model", "dcgan"], ["--dataset", "gauss1d"], ["--dataset", "grid"]]
OWN_FILES = ("config.json", "metrics.jsonl", "summary.json", "checkpoints", "samples")


class Hang(BaseException):
    """Raised by the alarm: not an Exception, so no handler in minimax can take it for a user error."""


def _alarm(signum, frame):
    raise Hang


def own_files(run: Path) -> dict:
    out = {}
    for name in OWN_FILES:
        p = run / name
        for f in ([p] if p.is_file() else sorted(p.rglob("*")) if p.is_dir() else []):
            if f.is_file():
                out[str(f.relative_to(run))] = f.read_bytes()
    return out


class Census:
    def __init__(self):
        self.seen, self.outcomes, self.bad, self.seconds = set(), Counter(), [], {}

    def run(self, capsys, args: list, label: str = "", watch: Path | None = None) -> str:
        args = [str(a) for a in args]
        key = (label, tuple(args))
        assert key not in self.seen, key
        self.seen.add(key)
        before = own_files(watch) if watch is not None else None
        old = signal.signal(signal.SIGALRM, _alarm)
        t0 = time.perf_counter()
        signal.alarm(LIMIT_S)
        try:
            code = main(args)
            outcome = "success" if code == 0 else None
        except Hang:
            outcome, code = "hang", None
        except SystemExit as e:  # argparse's --help / --version
            outcome, code = ("success" if e.code == 0 else None), e.code
        except BaseException as e:  # a traceback
            outcome, code = "traceback", f"{type(e).__name__}: {e}"[:300]
        finally:
            self.seconds[key] = time.perf_counter() - t0
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        _, err = capsys.readouterr()
        if outcome is None:
            one_line = err.count("\n") == 1 and err.startswith("minimax: error: ") and len(err) < 700
            outcome = "clean refusal" if code in (2, 3) and one_line else "traceback"
        if watch is not None and own_files(watch) != before:
            outcome = "data loss"
        self.outcomes[outcome] += 1
        if outcome in ("traceback", "hang", "data loss"):
            self.bad.append((outcome, label, args[:12], code, err[-300:]))
        return outcome


@pytest.fixture(scope="module")
def census():
    return Census()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny ring run (2 snapshots: a report draws each) and a tiny MNIST run (with its data), trained once."""
    root = tmp_path_factory.mktemp("census")
    data = write_mnist(root / "mnist")
    for name, extra in (("ring", ["--snapshots", "2"]), ("mnist", ["--dataset", "mnist", "--data-dir", data])):
        assert main([str(a) for a in ["train", *TINY, *extra, "--out", root / name]]) == 0
    return root, data


def test_train_flags_games_and_options(census, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    n = 0
    fields = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in SKIP_FIELDS]
    for name in fields:
        for value in VALUES:
            n += 1
            census.run(capsys, ["train", *TINY, f"--{name.replace('_', '-')}={value}", "--out", tmp_path / f"t{n}"])
    for game in GAMES:
        for option in OPTIONS:
            n += 1
            census.run(capsys, ["train", *TINY, "--game", game, *option, "--out", tmp_path / f"t{n}"])
    for value in VALUES:  # the same values in a config file, for a few fields
        for name in ("steps", "batch_size", "lr", "game", "g_hidden", "seed"):
            n += 1
            cfg = tmp_path / f"c{n}.json"
            cfg.write_text(json.dumps({name: value}))
            census.run(capsys, ["train", *TINY, "--config", cfg, "--out", tmp_path / f"t{n}"], label=f"file {name}")
    for value in VALUES + ["--nproc=0", "--nproc=100000"]:
        n += 1
        census.run(capsys, ["train", f"--resume={value}"] if not value.startswith("--") else
                   ["train", *TINY, value, "--out", tmp_path / f"t{n}"])


def test_sample_and_eval_options(census, capsys, base, tmp_path):
    root, data = base
    ring, mnist = root / "ring", root / "mnist"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outs = [tmp_path / "s.npy", tmp_path, fifo, f"{tmp_path}/", tmp_path / "no" / "s.npy", ring / "config.json",
            ring / "metrics.jsonl", ring / "checkpoints" / "latest", ring / "samples" / "x.npy", ring / "fid.json"]
    for flag in ("--n", "--seed", "--class"):
        for value in VALUES:
            census.run(capsys, ["sample", ring, f"{flag}={value}", "--out", tmp_path / "s.npy"], watch=ring)
    for flag in ("--out", "--grid"):
        for target in outs:
            census.run(capsys, ["sample", mnist, "--n", "4", flag, target], watch=mnist)
            census.run(capsys, ["report", ring, "--out", target], label=flag, watch=ring)
    for target in VALUES[:12]:
        census.run(capsys, ["sample", target, "--n", "4"], label="run dir")
        census.run(capsys, ["report", target], label="run dir")
    common = ["--data-dir", data, "--cache-dir", tmp_path / "cache"]
    for metric in ("fid", "kid", "pr", "is", "parzen", "modes", "conditional"):
        for flag in ("--n", "--seed", "--subsets", "--subset-size", "--splits", "--features", "--inception-weights"):
            for value in ("", "-1", "1", "abc", "9" * 40, "nan", " 3 ", tmp_path):
                census.run(capsys, ["eval", metric, mnist, *common, f"{flag}={value}"], watch=mnist)
        census.run(capsys, ["eval", metric, ring, *common, "--n", "200"], watch=ring)
        census.run(capsys, ["eval", metric, mnist, "--data-dir", tmp_path, "--n", "200"], watch=mnist)
        census.run(capsys, ["eval", metric, "--real", "--data-dir", data, "--n", "200", "--cache-dir", fifo])


def _edits(run: Path) -> dict:
    """name -> function that damages a copy of a run."""
    def cfg(key, value):
        def edit(r):
            c = json.loads((r / "config.json").read_text())
            c[key] = value
            (r / "config.json").write_text(json.dumps(c))
        return edit

    def text(name, data, mode="w"):
        def edit(r):
            p = r / name
            p.parent.mkdir(parents=True, exist_ok=True)
            with open(p, mode + "b") as f:
                f.write(data if isinstance(data, bytes) else data.encode())
        return edit

    latest = (run / "checkpoints" / "latest").read_text().strip()
    edits = {}
    for key in ("game", "dataset", "batch_size", "k", "latent_dim", "g_hidden", "pack", "steps", "seed", "lr",
                "model", "condition", "class_names", "g_ema", "data_dir", "device"):
        for value in (None, "", -1, 10**30, "abc", [], {}, True, 1e308):
            edits[f"config {key}={value!r}"] = cfg(key, value)
    edits.update({
        "config not json": text("config.json", b"\x93\x00{"), "config a list": text("config.json", "[]"),
        "config unknown key": cfg("unknown", 1), "config missing": lambda r: (r / "config.json").unlink(),
        "log binary": text("metrics.jsonl", b"\xff\xfe\x00\n", "a"), "log a number": text("metrics.jsonl", "1\n", "a"),
        "log text loss": text("metrics.jsonl", '{"step": 3, "d_loss": "x"}\n', "a"),
        "log no step": text("metrics.jsonl", '{"d_loss": 1}\n', "a"),
        "log negative step": text("metrics.jsonl", '{"step": -4, "d_loss": 1}\n', "a"),
        "log huge": text("metrics.jsonl", '{"step": 1, "d_loss": 1e999}\n', "a"),
        "log nested": text("metrics.jsonl", '{"step": 1, "d_loss": [1, {"a": 2}]}\n', "a"),
        "log deep": text("metrics.jsonl", "[" * 100000 + "\n", "a"),
        "summary list": text("summary.json", "[1]"), "summary strings": text("summary.json", '{"modes": "x"}'),
        "summary binary": text("summary.json", b"\xff"),
        "fid empty": text("fid.json", "{}"), "fid null": text("fid.json", '{"fid": null}'),
        "fid text": text("fid.json", '{"fid": "x", "protocol": 3}'),
        "parzen partial": text("parzen.json", '{"parzen_ll": 1}'),
        "conditional partial": text("conditional.json", '{"accuracy_mean": 1}'),
        "latest garbage": text(f"checkpoints/{'latest'}", "../../etc/passwd"),
        "latest missing": lambda r: (r / "checkpoints" / "latest").unlink(),
        "checkpoint truncated": lambda r: (r / "checkpoints" / latest).write_bytes(
            (r / "checkpoints" / latest).read_bytes()[:1000]),
        "checkpoint empty": text(f"checkpoints/{latest}", b""),
        "checkpoint flipped": lambda r: (r / "checkpoints" / latest).write_bytes(
            (r / "checkpoints" / latest).read_bytes()[:-100] + b"\x00" * 100),
        "checkpoints gone": lambda r: shutil.rmtree(r / "checkpoints"),
        "snapshot 0-d": lambda r: np.save(r / "samples" / "step-00000004.npy", np.float32(1)),
        "snapshot other shape": lambda r: np.save(r / "samples" / "step-00000004.npy", np.zeros((3, 5, 7))),
        "snapshot pickle": lambda r: np.save(r / "samples" / "step-00000004.npy", np.array([{}]), allow_pickle=True),
        "snapshot text": text("samples/step-00000004.npy", "hello"),
        "field text": text("samples/field-00000004.npz", "hello"),
        "run name mathtext": lambda r: None,
    })
    return edits


def test_edited_run_files(census, capsys, base, tmp_path):
    root, _ = base
    edits = _edits(root / "ring")
    for i, (name, edit) in enumerate(edits.items()):
        run = tmp_path / (f"r{i}$\\frac{{$" if name == "run name mathtext" else f"r{i}")
        shutil.copytree(root / "ring", run)
        edit(run)
        if not name.startswith("config ") or name in ("config game=None", "config dataset=None", "config k=-1"):
            others = [root / "ring"] if name == "run name mathtext" else []
            census.run(capsys, ["report", run, *others, "--out", tmp_path / f"r{i}.html"], label=name)
        census.run(capsys, ["sample", run, "--n", "4", "--out", tmp_path / f"s{i}.npy"], label=name)
        census.run(capsys, ["train", "--resume", run, "--steps", "10", "--no-plots", "--progress", "off"], label=name)


def test_the_census(census):
    """The table, and what it must show (runs last: pytest keeps the file's order)."""
    if not census.seen:
        pytest.skip("the census counts the inputs of this file's other tests: run them with it")
    total = sum(census.outcomes.values())
    print(f"\nhostile-input census: {len(census.seen)} distinct inputs")
    for outcome in ("success", "clean refusal", "traceback", "hang", "data loss"):
        print(f"  {outcome:<14} {census.outcomes[outcome]:>5}")
    slowest = sorted(census.seconds.items(), key=lambda kv: -kv[1])[:5]
    print(f"  total {sum(census.seconds.values()):.0f} s; slowest: "
          + "; ".join(f"{label or args[0]} {args[0]} {t:.1f} s" for (label, args), t in slowest))
    for bad in census.bad[:20]:
        print("  ", bad)
    assert total == len(census.seen) >= 500
    assert not census.bad, census.bad[:5]
