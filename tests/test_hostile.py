"""Reliability against a hostile user: runs are never clobbered, everything read back is checksummed and
checked, inputs are bounded, and every failure is one line with exit status 2 (3 for divergence)."""
import gzip
import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes
from test_image_data import write_mnist

from minimax.algorithm.trainer import Trainer
from minimax.api import train
from minimax.cli import main
from minimax.config import TrainConfig
from minimax.errors import MinimaxError
from minimax.run import checkpoint as ckpt
from minimax.run.rundir import RunLock
from minimax.run.runlog import read_metrics
from minimax.run.setup import load_trainer

TINY = ["--steps", "8", "--batch-size", "16", "--g-hidden", "8", "--d-hidden", "8", "--latent-dim", "2",
        "--log-every", "2", "--checkpoint-every", "4", "--snapshots", "3", "--eval-samples", "50", "--no-plots",
        "--device", "cpu", "--tensorboard", "off", "--progress", "off"]  # (snapshots at steps 0, 4 and 8)
# TINY without the mlp widths, for the other models (which would refuse them)
TINY_ANY_MODEL = [a for i, a in enumerate(TINY) if not {a, TINY[i - 1]} & {"--g-hidden", "--d-hidden"}]


def cli(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def after_status(err: str) -> str:
    """stderr without the line a training run starts with (``minimax: data: ...``, what it trains on): what came
    after it, the error or stop message."""
    return err.split("\n", 1)[1] if err.startswith("minimax: data: ") else err


def one_line_error(code, err, needle=None, codes=(2,)):
    assert code in codes, err
    err = after_status(err)  # (an error after training started follows the run's first line)
    assert err.count("\n") == 1 and err.startswith("minimax: error: "), err
    assert "Traceback" not in err
    if needle:
        assert needle in err, err


def tiny_run(tmp_path, capsys, name="run", *extra):
    run = tmp_path / name
    code, out, err = cli(["train", *TINY, "--out", run, *extra], capsys)
    assert code == 0, err
    return run


def snapshot(run):
    return {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


# --- 1. a run directory is never clobbered, and is locked while a process trains into it ------------
def test_existing_run_is_refused_and_left_untouched(tmp_path, capsys):
    run = tiny_run(tmp_path, capsys)
    before = snapshot(run)
    code, _, err = cli(["train", *TINY, "--lr", "1e30", "--out", run], capsys)
    one_line_error(code, err, "already holds a run; continue it with: minimax train --resume")
    assert snapshot(run) == before


def test_a_locked_run_directory_refuses_a_second_process(tmp_path, capsys):
    run = tiny_run(tmp_path, capsys)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    for target, args in ((run, ["--resume", run]), (fresh, [*TINY, "--out", fresh])):
        lock = RunLock(target)  # another process training into it
        try:
            code, _, err = cli(["train", *args], capsys)
            one_line_error(code, err, f"is in use by another minimax process (pid {os.getpid()})")
        finally:
            lock.release()
    assert not (fresh / "config.json").exists()
    assert cli(["train", "--resume", run, "--steps", "10"], capsys)[0] == 0  # free again


@pytest.mark.parametrize("args, needle", [
    (["--dataset", "mnist"], "data_dir"),  # no --data-dir: refused when the data is loaded
    (["--condition", "concat", "--model", "dcgan"], "condition"),
])
def test_a_refused_run_leaves_no_folder_and_no_lock_behind(tmp_path, capsys, args, needle):
    new, empty = tmp_path / "new", tmp_path / "empty"
    empty.mkdir()
    for out in (new, empty):
        code, _, err = cli(["train", *TINY_ANY_MODEL, *args, "--out", out], capsys)
        assert code == 2 and needle in err.replace("-", "_"), err
    assert not new.exists()  # made by the refused command: gone again
    assert empty.is_dir() and list(empty.iterdir()) == []  # the user's own folder: kept, and left as it was


@pytest.mark.slow  # (several processes: the full suite)
def test_two_processes_started_together_on_one_directory_one_trains(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "minimax", "train", *TINY, "--steps", "300", "--out", str(out)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 2], results
    err = next(e for code, e in results if code == 2)
    assert "is in use by another minimax process" in err or "already holds a run" in err


# --- 2. the checksum covers the header; metadata is checked like any input ---------------------
def _rewrite(path, change, rehash):
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["minimax"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    change(meta)
    if rehash:
        meta.pop("sha256")
        path.write_bytes(ckpt.encode(tensors, meta))
    else:
        path.write_bytes(safetensors_bytes(tensors, metadata={"minimax": json.dumps(meta)}))


@pytest.mark.parametrize("change,rehash,needle", [
    (lambda m: m.update(lr_scale=0.25), False, "checksum mismatch"),  # a bit flip in the header
    (lambda m: m.update(step=m["step"] + 1), False, "checksum mismatch"),
    (lambda m: m.update(step=-100000), True, "step -100000 is not an integer"),
    (lambda m: m.update(world_size="two"), True, "world_size 'two'"),
    (lambda m: m.update(lr_scale=float("nan")), True, "lr_scale"),
    (lambda m: m["opt_d"]["param_groups"][0].update(betas=["xx", 0.9]), True, "opt_d settings do not fit"),
    (lambda m: m["opt_g"]["param_groups"][0].pop("lr"), True, "opt_g settings do not fit"),
    (lambda m: m.update(opt_g=[]), True, "opt_g has no list of parameter groups"),
])
def test_crafted_checkpoint_metadata_is_refused(tmp_path, capsys, change, rehash, needle):
    run = tiny_run(tmp_path, capsys)
    for path in ckpt.list_checkpoints(run):
        _rewrite(path, change, rehash)
    code, _, err = cli(["train", "--resume", run, "--steps", "12"], capsys)
    one_line_error(code, err, needle)


def test_version_1_checkpoints_still_resume(tmp_path, capsys):
    """Format 1 (0.1.0) hashed the tensors only; its runs resume, their metadata still checked."""
    run = tiny_run(tmp_path, capsys)
    path = ckpt.latest_checkpoint(run)
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["minimax"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta.update(version=1, sha256=ckpt._digest(tensors))
    path.write_bytes(safetensors_bytes(tensors, metadata={"minimax": json.dumps(meta)}))
    assert cli(["train", "--resume", run, "--steps", "10"], capsys)[0] == 0


# --- 3. roll-backs compound --------------------------------------------------------------------
def test_each_rollback_lowers_the_rate_further(tmp_path, monkeypatch):
    original = Trainer.iteration

    def always_diverges_at_step_10(self, diagnose=False):
        original(self, diagnose)
        if self.step == 10:
            with torch.no_grad():
                next(self.D.parameters()).fill_(float("inf"))

    monkeypatch.setattr(Trainer, "iteration", always_diverges_at_step_10)
    cfg = TrainConfig(dataset="ring", g_hidden=(8,), d_hidden=(8,), latent_dim=2, batch_size=16, steps=24,
                      log_every=2, checkpoint_every=8, eval_samples=50, device="cpu", on_nan="rollback",
                      tensorboard="off", out=str(tmp_path / "r"))
    with pytest.raises(MinimaxError, match="diverged"):
        train(cfg, progress=False, plots=False)
    events = [r for r in read_metrics(tmp_path / "r" / "metrics.jsonl") if r.get("event") == "rollback"]
    assert [e["lr_scale"] for e in events] == [0.5, 0.25, 0.125, 0.0625, 0.03125]


# --- 4. tracebacks and unbounded resources -----------------------------------------------------
def test_a_full_disk_during_a_checkpoint_is_one_line_and_keeps_the_old_checkpoints(tmp_path, capsys, monkeypatch):
    run = tiny_run(tmp_path, capsys)
    before = {p.name: p.read_bytes() for p in ckpt.list_checkpoints(run)}
    real_write = ckpt.atomic_write_bytes

    def full(path, data, **kw):
        if path.suffix == ".safetensors":
            raise OSError(28, "No space left on device", str(path))
        real_write(path, data, **kw)

    monkeypatch.setattr(ckpt, "atomic_write_bytes", full)
    code, _, err = cli(["train", "--resume", run, "--steps", "16"], capsys)
    one_line_error(code, err, "No space left on device")
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in ckpt.list_checkpoints(run)} == before
    assert load_trainer(run).step == 8


@pytest.mark.parametrize("args,needle", [
    (["--latent-dim", 10**9], "latent_dim must be in [1, 65536]"),
    (["--batch-size", 10**9], "batch_size must be in [1, 1048576]"),
    (["--g-hidden", 10**20], "g_hidden must be 1 to 64 integers"),
    (["--seed", 10**23], "seed must be in [0, 4294967295]"),
    (["--image-size", 100000], "image_size must be in [4, 1024]"),
    (["--snapshots", 10**9], "snapshots must be in [1, 1000]"),
    (["--g-hidden", "65536,65536,65536"], "this configuration needs about"),  # memory, before allocating
    (["--g-hidden", "65536,65536,65536"], "even one example does not fit"),
    (["--batch-size", 2**20, "--d-hidden", "4096,4096"], "activations at batch size 1048576"),
    (["--batch-size", 2**20, "--d-hidden", "4096,4096"], "available on cpu: give --batch-size "),
    (["--check", "100"], "unrecognized arguments: --check"),  # no silent abbreviations
    (["--dataset", "x" * 100000], "unknown dataset"),
])
def test_huge_or_odd_values_are_one_line(tmp_path, capsys, args, needle):
    code, _, err = cli(["train", *TINY, "--out", tmp_path / "r", *args], capsys)
    one_line_error(code, err, needle)
    assert len(err) < 600  # a 100 kB value is not echoed back


def test_seed_in_a_config_file_is_bounded(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("seed = 1e30\n")
    code, _, err = cli(["train", "--config", cfg], capsys)
    one_line_error(code, err, "seed must be in [0, 4294967295]")
    code, _, err = cli(["train", "--config", "/dev/zero"], capsys)
    one_line_error(code, err, "larger than 1024 KiB")


@pytest.mark.parametrize("args,needle", [
    (["--n", 10**10, "--out", "x.npy"], "--n 10000000000: the samples need about"),
    (["--seed", 10**23, "--out", "x.npy"], "--seed must be in [0, 2^63 - 1]"),
    (["--seed", "abc", "--out", "x.npy"], "--seed must be an integer"),
])
def test_sample_bounds(tmp_path, capsys, args, needle):
    run = tiny_run(tmp_path, capsys)
    code, _, err = cli(["sample", run, *[str(a).replace("x.npy", str(tmp_path / "x.npy")) for a in args]], capsys)
    one_line_error(code, err, needle)


def _png(path, width=4, height=4):
    from PIL import Image

    Image.new("RGB", (width, height), (200, 10, 10)).save(path)
    return path


def _set_png_size(path, width, height):
    """Rewrite the IHDR chunk's width and height (with a valid CRC): a header that claims a huge image."""
    raw = bytearray(path.read_bytes())
    ihdr = raw.index(b"IHDR")
    raw[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    raw[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(raw[ihdr:ihdr + 17])))
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("make,needle", [
    (lambda p: _set_png_size(_png(p), 20000, 20000), "DecompressionBombError"),
    (lambda p: p.write_bytes(_png(p).read_bytes()[:-20] + b"\x00" * 20), "cannot read image"),
    (lambda p: p.write_bytes(_png(p).read_bytes().replace(b"IDAT", b"IDAx")), "cannot read image"),
])
def test_hostile_images_are_one_line(tmp_path, capsys, make, needle):
    folder = tmp_path / "imgs"
    folder.mkdir()
    make(folder / "bad.png")
    code, _, err = cli(["train", *TINY, "--dataset", "folder", "--data-dir", folder, "--image-size", 8,
                        "--out", tmp_path / "r"], capsys)
    one_line_error(code, err, needle)


def test_a_fifo_named_png_is_not_read(tmp_path):
    from minimax.data.images import image_folder

    folder = tmp_path / "imgs"
    folder.mkdir()
    _png(folder / "ok.png")
    os.mkfifo(folder / "pipe.png")  # opening it for reading would block forever
    assert len(image_folder(folder, "cpu", "tanh", 8)) == 1


def test_a_gzip_bomb_behind_a_small_idx_header_is_refused_without_inflating_it(tmp_path):
    from minimax.data.idx import read_idx

    header = struct.pack(">HBB3I", 0, 8, 3, 10, 28, 28)
    bomb = tmp_path / "bomb-idx3-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        f.write(header + bytes(10 * 28 * 28))
        for _ in range(64):  # 1 GiB of zeros after the declared data, ~1 MB on disk
            f.write(bytes(16 << 20))
    start = time.perf_counter()
    with pytest.raises(MinimaxError, match="size mismatch"):
        read_idx(bomb)
    assert time.perf_counter() - start < 1.0  # it stopped one byte after the declared size


def test_report_refuses_a_foreign_config_and_pickled_samples(tmp_path, capsys):
    run = tiny_run(tmp_path, capsys)
    config = (run / "config.json").read_text()
    (run / "config.json").write_text("[1, 2, 3]")
    code, _, err = cli(["report", run], capsys)
    one_line_error(code, err, "must be a mapping of settings")
    (run / "config.json").write_text(config)
    np.save(run / "samples" / "step-00000004.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    code, _, err = cli(["report", run], capsys)
    one_line_error(code, err, "minimax never unpickles files")


# --- 5. wrong answers without an error ---------------------------------------------------------
def test_eval_refuses_a_data_set_of_another_shape_or_with_bad_labels(tmp_path, capsys):
    data = write_mnist(tmp_path / "mnist")
    run = tiny_run(tmp_path, capsys, "run", "--dataset", "mnist", "--data-dir", data)
    small = write_mnist(tmp_path / "five", side=5)
    for metric in ("fid", "parzen"):
        code, _, err = cli(["eval", metric, run, "--data-dir", small, "--n", "200"], capsys)
        one_line_error(code, err, "the run makes images of shape (1, 28, 28), the evaluation set in --data-dir "
                                  "has (1, 5, 5)")
    bad = write_mnist(tmp_path / "labels", first_label=200)
    code, _, err = cli(["eval", "fid", "--real", "--data-dir", bad, "--n", "200"], capsys)
    one_line_error(code, err, "class indices must be in 0..9, found")


# --- 6. what extending a run means -------------------------------------------------------------
def test_resume_with_more_steps_stretches_a_linear_schedule_to_the_new_end(tmp_path, capsys):
    run = tiny_run(tmp_path, capsys, "run", "--lr-decay", "linear", "--lr", "0.01")
    game = load_trainer(run, steps=16, resume=True)
    assert game.step == 8
    game.iteration()
    assert game.opt_g.param_groups[0]["lr"] == pytest.approx(0.01 * (1 - 8 / 16))  # not 0: the new horizon
    # the same --steps: the schedule, and the run, are the straight run's
    straight = tiny_run(tmp_path, capsys, "straight", "--lr-decay", "linear", "--lr", "0.01", "--steps", "8")
    assert load_trainer(straight).opt_g.param_groups[0]["lr"] == pytest.approx(0.01 * (1 - 7 / 8))


# --- 7. smaller ones ---------------------------------------------------------------------------
def test_a_corrupt_latest_checkpoint_falls_back_loudly_to_an_older_one(tmp_path, capsys):
    run = tiny_run(tmp_path, capsys)
    latest = ckpt.latest_checkpoint(run)
    raw = bytearray(latest.read_bytes())
    raw[-3] ^= 0xFF
    latest.write_bytes(bytes(raw))
    code, _, err = cli(["train", "--resume", run, "--steps", "12"], capsys)
    assert code == 0, err
    assert "minimax: warning:" in err and "using the older checkpoint" in err and "(step 4)" in err


def test_resume_removes_orphaned_temporary_files(tmp_path, capsys):
    run = tiny_run(tmp_path, capsys)
    orphans = [run / "checkpoints" / ".step-00000009.safetensors.abc.tmp", run / ".summary.json.x.tmp"]
    for p in orphans:
        p.write_bytes(b"partial")
    assert cli(["train", "--resume", run, "--steps", "10"], capsys)[0] == 0
    assert not any(p.exists() for p in orphans)


def test_resume_with_steps_below_the_checkpoint_is_refused_and_changes_nothing(tmp_path, capsys):
    run = tiny_run(tmp_path, capsys)
    config = (run / "config.json").read_bytes()
    code, _, err = cli(["train", "--resume", run, "--steps", "3"], capsys)
    one_line_error(code, err, "--steps 3 is below the step of the run's latest checkpoint (8)")
    assert (run / "config.json").read_bytes() == config


def test_a_second_sigterm_does_not_cut_the_stop_checkpoint_short(tmp_path):
    out = tmp_path / "r"
    cmd = [sys.executable, "-m", "minimax", "train", *TINY, "--steps", "100000", "--checkpoint-every", "1000000",
           "--out", str(out)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start = time.time()
    while time.time() - start < 60 and ckpt.latest_checkpoint(out) is None:
        time.sleep(0.05)
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    assert ckpt.read_checkpoint(ckpt.latest_checkpoint(out))[1]["step"] > 0


# --- the fuzz test: random flags and config values --------------------------------------------
FLAGS = ["--steps", "--batch-size", "--k", "--lr", "--latent-dim", "--g-hidden", "--seed", "--pack", "--snapshots",
         "--log-every", "--label-smoothing", "--g-ema", "--momentum", "--dataset", "--prior", "--g-loss", "--update",
         "--eval-samples", "--keep-checkpoints", "--d-dropout", "--image-size", "--on-nan", "--amp"]
VALUES = st.one_of(st.integers(-10**25, 10**25), st.integers(-3, 40).map(str),
                   st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.text(max_size=12), st.sampled_from(["ring", "grid", "gauss1d", "mnist", "uniform", "bf16",
                                                          "saturating", "simultaneous", "rollback", "1,2", ""]))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(FLAGS), VALUES), max_size=4), st.booleans())
def test_fuzz_every_exit_is_success_or_one_line(tmp_path_factory, capsys, pairs, as_file):
    out = tmp_path_factory.mktemp("fuzz")
    base = ["train", "--steps", "4", "--batch-size", "8", "--g-hidden", "4", "--d-hidden", "4", "--latent-dim", "2",
            "--eval-samples", "20", "--no-plots", "--device", "cpu", "--tensorboard", "off", "--progress", "off",
            "--out", str(out / "run")]
    if as_file:
        cfg = out / "c.json"
        cfg.write_text(json.dumps({flag[2:].replace("-", "_"): value for flag, value in pairs}))
        args = base + ["--config", str(cfg)]
    else:
        args = base + [f"{flag}={value}" for flag, value in pairs]
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse's --help/--version only
        code = e.code
    _, err = capsys.readouterr()
    assert code in (0, 2, 3), (args, err)
    if code:
        assert err.count("\n") == 1 and err.startswith("minimax: error: ") and len(err) < 600, (args, err)


def _terminal_sigint():
    """In the child: SIGINT as a terminal delivers it (default action, unblocked). A test suite started in the
    background (``pytest ... &`` from a script, nohup) holds SIGINT ignored, and exec inherits that: the signal
    was lost and the run finished with exit 0."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_ctrl_c_during_start_up_is_one_line(tmp_path):
    """SIGINT while torch is still being imported (the entry point catches it outside the package)."""
    code = "import sys, minimax_entry; sys.argv[0] = 'minimax'; sys.exit(minimax_entry.main())"
    p = subprocess.Popen([sys.executable, "-c", code, "train", *TINY, "--out", str(tmp_path / "r")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_terminal_sigint)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and err.count("\n") == 1 and "Traceback" not in err, err


@pytest.mark.parametrize("up", [0, 1, 2])
def test_a_folder_link_back_to_the_data_or_above_is_refused_not_walked_forever(tmp_path, up):
    """Two links to the folder itself made os.walk(followlinks=True) grow exponentially; a link to '..' read the
    parent folder as the data."""
    from PIL import Image

    from minimax.data.images import image_files
    from minimax.errors import MinimaxError

    d = tmp_path / "x" / "data"
    (d / "sub").mkdir(parents=True)
    Image.new("L", (8, 8)).save(d / "sub" / "a.png")
    target = d.resolve().parents[up - 1] if up else d.resolve()
    (d / "sub" / "loop").symlink_to(target)
    (d / "sub" / "loop2").symlink_to(target)
    with pytest.raises(MinimaxError, match="which holds .* itself"):
        image_files(d)
    (d / "sub" / "loop").unlink()
    (d / "sub" / "loop2").unlink()
    (tmp_path / "elsewhere").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "elsewhere" / "b.png")
    (d / "linked").symlink_to(tmp_path / "elsewhere")  # a link to a folder beside it: read, as before
    assert [p.name for p in image_files(d)] == ["b.png", "a.png"]


def test_the_batch_size_a_memory_refusal_names_fits_and_one_pack_more_does_not(monkeypatch):
    import re

    from minimax.errors import MinimaxError
    from minimax.run import resources

    def build():
        return torch.nn.Linear(8, 4096), torch.nn.Sequential(torch.nn.Linear(4096, 4096), torch.nn.Linear(4096, 1))

    monkeypatch.setattr(resources, "available_memory", lambda device: 2 * resources.GIB)
    with pytest.raises(MinimaxError, match="give --batch-size") as e:
        resources.check_fits(build, 8, 10**6, torch.device("cpu"), k=2, pack=4)
    largest = int(re.search(r"--batch-size (\d+) or less", str(e.value)).group(1))
    assert largest % 4 == 0 and largest > 0
    resources.check_fits(build, 8, largest, torch.device("cpu"), k=2, pack=4)  # fits
    with pytest.raises(MinimaxError):
        resources.check_fits(build, 8, largest + 4, torch.device("cpu"), k=2, pack=4)
