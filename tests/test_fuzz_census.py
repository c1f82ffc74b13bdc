"""The hostile-input census (#28): hundreds of distinct bad inputs across train, sample, eval and report, made
deterministically (every flag × hostile values, every game × every option, edited run files), each run in
process under a time limit and classified: success, clean refusal (one line, ``minimax: error: ...``, exit 2 or
3), traceback (anything else escaping), hang (over the limit), data loss (a run's own files changed under sample,
eval or report), silently accepted (a run trained or a stored run was used with a value its field does not
allow: see :func:`allowed`). The census is taken once per module (the fixture), so each test can run alone; the
tests require 0 tracebacks, hangs, data losses and silent acceptances, and at least 500 inputs."""
import contextlib
import dataclasses
import io
import json
import math
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

import minimax.cli
from minimax.cli import main
from minimax.config import OPTION_OWNERS, TrainConfig, field_kind
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
FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
NOT_PARSED = object()


def parsed(kind: str, value):
    """What a value means for a field of this kind, read independently of minimax: a flag's string as Python
    reads a number or a comma-separated list, a config file's JSON value as it is; NOT_PARSED: no such value."""
    try:
        if isinstance(value, str):
            if kind in ("int", "float"):
                return int(value) if kind == "int" else float(value)
            if kind == "widths":
                return tuple(int(h) for h in value.split(","))
            return (tuple(value.split(",")) if value else ()) if kind == "names" else value
        if value is None or isinstance(value, str if kind in ("str",) else ()):
            return value
        if kind == "int" and type(value) is int or kind == "float" and type(value) in (int, float):
            return value
        if kind == "widths" and isinstance(value, list) and all(type(h) is int for h in value):
            return tuple(value)
        if kind == "names" and isinstance(value, list) and all(isinstance(n, str) for n in value):
            return tuple(value)
    except (ValueError, OverflowError):
        pass
    return NOT_PARSED


def allowed(name: str, value, cfg: dict, fresh: bool = True) -> bool:
    """Whether a run configured as ``cfg`` may take ``value`` for field ``name``: it reads as the field's type
    (None only where the field's default is None), finite, inside the field's declared choices and range, and,
    for a ``fresh`` run, read by the run's components (an MLP width with a DCGAN, a data folder with a built-in
    2-D set would be ignored; a stored run's config loads as it was written)."""
    f = FIELDS[name]
    v = parsed(field_kind(f), value)
    if v is NOT_PARSED or v is None and f.default is not None:
        return False
    if v is None:
        return True
    if isinstance(v, float) and not math.isfinite(v):
        return False
    choices, check = f.metadata.get("choices"), f.metadata.get("check")
    if choices and v not in choices or check and not check(v):
        return False
    if name == "device" and not (v in ("auto", "cpu") or v.startswith("cuda")):
        return False
    if not fresh:
        return True
    owner = OPTION_OWNERS.get(name)
    if owner and cfg.get(owner[0]) not in owner[1] and v != f.default:  # (its default: the same as not giving it)
        return False
    return not (name == "data_dir" and cfg.get("dataset") in ("ring", "grid", "gauss1d"))


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

    def run(self, args: list, label: str = "", watch: Path | None = None, should_refuse: bool = False) -> str:
        """Run ``minimax ARGS`` in this process and classify it; ``should_refuse``: the input holds a value that
        may not be accepted (then a success is "silently accepted")."""
        args = [str(a) for a in args]
        key = (label, tuple(args))
        assert key not in self.seen, key
        self.seen.add(key)
        before = own_files(watch) if watch is not None else None
        old = signal.signal(signal.SIGALRM, _alarm)
        t0 = time.perf_counter()
        signal.alarm(LIMIT_S)
        out, err_io = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err_io):
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
        err = err_io.getvalue()
        if outcome is None:
            one_line = err.count("\n") == 1 and err.startswith("minimax: error: ") and len(err) < 700
            outcome = "clean refusal" if code in (2, 3) and one_line else "traceback"
        if watch is not None and own_files(watch) != before:
            outcome = "data loss"
        if outcome == "success" and should_refuse:
            outcome = "silently accepted"
        self.outcomes[outcome] += 1
        if outcome in ("traceback", "hang", "data loss", "silently accepted"):
            self.bad.append((outcome, label, [a for a in args if a not in TINY], code, err[-300:]))
        return outcome


TINY_CONFIG = {"dataset": "ring", "model": "mlp", "optimizer": "adam", "condition": "none", "game": "minimax"}


def base_runs(root: Path) -> tuple[Path, str]:
    """A tiny ring run (2 snapshots: a report draws each) and a tiny MNIST run (with its data), trained once."""
    data = write_mnist(root / "mnist")
    for name, extra in (("ring", ["--snapshots", "2"]), ("mnist", ["--dataset", "mnist", "--data-dir", data])):
        assert main([str(a) for a in ["train", *TINY, *extra, "--out", root / name]]) == 0
    return root, data


def overridden(name: str) -> bool:
    """Whether TINY sets the field too: its flags override a config file's value."""
    return f"--{name.replace('_', '-')}" in TINY


def train_flags_games_and_options(census: Census, tmp_path: Path) -> None:
    n = 0
    for name in [name for name in FIELDS if name not in SKIP_FIELDS]:
        for value in VALUES:
            n += 1
            cfg = {**TINY_CONFIG, name: value}
            census.run(["train", *TINY, f"--{name.replace('_', '-')}={value}", "--out", tmp_path / f"t{n}"],
                       should_refuse=not allowed(name, value, cfg))  # (after TINY: this value wins)
    for game in GAMES:
        for option in OPTIONS:
            n += 1
            census.run(["train", *TINY, "--game", game, *option, "--out", tmp_path / f"t{n}"])
    for value in VALUES:  # the same values in a config file, for a few fields
        for name in ("steps", "batch_size", "lr", "game", "g_hidden", "seed"):
            n += 1
            cfg = tmp_path / f"c{n}.json"
            cfg.write_text(json.dumps({name: value}))
            census.run(["train", *TINY, "--config", cfg, "--out", tmp_path / f"t{n}"], label=f"file {name}",
                       should_refuse=not allowed(name, value, TINY_CONFIG) and not overridden(name))
    for value in VALUES + ["--nproc=0", "--nproc=100000"]:
        n += 1
        census.run(["train", f"--resume={value}"] if not value.startswith("--") else
                   ["train", *TINY, value, "--out", tmp_path / f"t{n}"], should_refuse=True)


def sample_and_eval_options(census: Census, root: Path, data: str, tmp_path: Path) -> None:
    ring, mnist = root / "ring", root / "mnist"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outs = [tmp_path / "s.npy", tmp_path, fifo, f"{tmp_path}/", tmp_path / "no" / "s.npy", ring / "config.json",
            ring / "metrics.jsonl", ring / "checkpoints" / "latest", ring / "samples" / "x.npy", ring / "fid.json"]
    for flag in ("--n", "--seed", "--class"):
        for value in VALUES:
            census.run(["sample", ring, f"{flag}={value}", "--out", tmp_path / "s.npy"], watch=ring)
    for flag in ("--out", "--grid"):
        for target in outs:
            census.run(["sample", mnist, "--n", "4", flag, target], watch=mnist)
            census.run(["report", ring, "--out", target], label=flag, watch=ring)
    for target in VALUES[:12]:
        census.run(["sample", target, "--n", "4"], label="run dir", should_refuse=True)
        census.run(["report", target], label="run dir", should_refuse=True)
    common = ["--data-dir", data, "--cache-dir", tmp_path / "cache"]
    for metric in ("fid", "kid", "pr", "is", "parzen", "modes", "conditional"):
        for flag in ("--n", "--seed", "--subsets", "--subset-size", "--splits", "--features", "--inception-weights"):
            for value in ("", "-1", "1", "abc", "9" * 40, "nan", " 3 ", tmp_path):
                census.run(["eval", metric, mnist, *common, f"{flag}={value}"], watch=mnist)
        census.run(["eval", metric, ring, *common, "--n", "200"], watch=ring, should_refuse=True)
        census.run(["eval", metric, mnist, "--data-dir", tmp_path, "--n", "200"], watch=mnist, should_refuse=True)
        census.run(["eval", metric, "--real", "--data-dir", data, "--n", "200", "--cache-dir", fifo],
                   should_refuse=True)


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


def edited_run_files(census: Census, root: Path, tmp_path: Path) -> None:
    """Damaged copies of the ring run, each reported, sampled and resumed. An edited config value that its field
    does not allow must be refused by sample and resume (a report shows what it can of any run)."""
    stored = json.loads((root / "ring" / "config.json").read_text())
    edits = _edits(root / "ring")
    for i, (name, edit) in enumerate(edits.items()):
        run = tmp_path / (f"r{i}$\\frac{{$" if name == "run name mathtext" else f"r{i}")
        shutil.copytree(root / "ring", run)
        edit(run)
        bad = False
        if name.startswith("config ") and "=" in name:
            key = name[len("config "):].split("=")[0]
            bad = not allowed(key, json.loads((run / "config.json").read_text())[key], stored, fresh=False)
        if not name.startswith("config ") or name in ("config game=None", "config dataset=None", "config k=-1"):
            others = [root / "ring"] if name == "run name mathtext" else []
            census.run(["report", run, *others, "--out", tmp_path / f"r{i}.html"], label=name)
        census.run(["sample", run, "--n", "4", "--out", tmp_path / f"s{i}.npy"], label=name, should_refuse=bad)
        census.run(["train", "--resume", run, "--steps", "10", "--no-plots", "--progress", "off"], label=name,
                   should_refuse=bad)


@pytest.fixture(scope="module")
def census(tmp_path_factory):
    """The whole census, taken once for the module's tests (each can run alone)."""
    taken = Census()  # (without fsync, as every test in this process: tests/conftest.py)
    root, data = base_runs(tmp_path_factory.mktemp("census"))
    with pytest.MonkeyPatch.context() as patch:
        # one parser for every input: argparse keeps no state between parses, and building it takes ~20 ms
        # (~45 s of the census's ~2,300 inputs); each input is still parsed from scratch
        parser = minimax.cli.build_parser()
        patch.setattr(minimax.cli, "build_parser", lambda: parser)
        with pytest.MonkeyPatch.context() as cwd:
            cwd.chdir(tmp_path_factory.mktemp("cwd"))
            train_flags_games_and_options(taken, tmp_path_factory.mktemp("train"))
        sample_and_eval_options(taken, root, data, tmp_path_factory.mktemp("use"))
        edited_run_files(taken, root, tmp_path_factory.mktemp("edited"))
    total = sum(taken.outcomes.values())
    print(f"\nhostile-input census: {len(taken.seen)} distinct inputs ({total} runs)")
    for outcome in ("success", "clean refusal", "traceback", "hang", "data loss", "silently accepted"):
        print(f"  {outcome:<18} {taken.outcomes[outcome]:>5}")
    slowest = sorted(taken.seconds.items(), key=lambda kv: -kv[1])[:5]
    print(f"  total {sum(taken.seconds.values()):.0f} s; slowest: "
          + "; ".join(f"{label or args[0]} {args[0]} {t:.1f} s" for (label, args), t in slowest))
    for bad in taken.bad[:30]:
        print("  ", bad)
    return taken


def test_the_census_has_500_inputs_and_no_traceback_hang_data_loss_or_silent_acceptance(census):
    """One test over the whole census (a module fixture is taken once per test process: with -n, tests of the
    module on two processes would take it twice)."""
    assert sum(census.outcomes.values()) == len(census.seen) >= 500
    for outcome in ("traceback", "hang", "data loss", "silently accepted"):
        found = [bad for bad in census.bad if bad[0] == outcome]
        assert not found, (outcome, found[:5])


def test_the_silent_acceptance_rule_can_fail():
    """The rule behind "silently accepted" (allowed) refuses what it must: a check that cannot fail counts nothing."""
    ring = TINY_CONFIG
    assert allowed("steps", "10", ring) and allowed("lr", " 3 ", ring) and allowed("g_hidden", "1,2", ring)
    assert allowed("seed", "0", ring) and allowed("data_dir", None, ring) and allowed("g_lr", None, ring)
    for name, value in [("steps", "0"), ("steps", "1.5"), ("lr", "nan"), ("lr", "1e400"), ("lr", "-1"),
                        ("game", "abc"), ("k", True), ("g_ema", True), ("seed", -1), ("seed", 1e308),
                        ("steps", None), ("g_hidden", []), ("class_names", {}), ("momentum", "0.5"),
                        ("d_norm", "layer"), ("data_dir", "photos"), ("device", "abc"), ("batch_size", 10**30)]:
        assert not allowed(name, value, ring), (name, value)
    assert allowed("momentum", "0.5", {**ring, "optimizer": "sgd"})
