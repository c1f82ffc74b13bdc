"""Data-parallel play on torch.distributed (gloo, 2 local processes)."""
import json
import socket
import subprocess
import sys

import pytest
import torch
from test_hostile import after_status

from minimax.algorithm import distributed
from minimax.cli import main
from minimax.config import TrainConfig
from minimax.run import checkpoint as ckpt
from minimax.run.runlog import read_metrics
from minimax.run.setup import build_trainer

TIMEOUT = 240


def cfg(**kw) -> TrainConfig:
    base = dict(dataset="ring", g_hidden=(16, 16), d_hidden=(16, 16), latent_dim=4, batch_size=16, steps=2,
                device="cpu", optimizer="sgd", momentum=0.0, lr=0.1, lr_decay="none", prior="normal",
                g_norm="none")  # not the ring preset
    base.update(kw)
    return TrainConfig(**base)


class Recorder:
    """Wraps Trainer.real / Trainer.noise: records every minibatch drawn, or replays given ones."""

    def __init__(self, fn=None, replay=None):
        self.fn, self.replay, self.calls = fn, replay, []

    def __call__(self, m):
        out = self.replay[len(self.calls)] if self.replay is not None else self.fn(m)
        self.calls.append(out.clone())
        return out


def _play_two_iterations(rank, world, port, out):
    torch.set_num_threads(1)
    distributed.init_local(rank, world, port, "cpu")
    try:
        game = build_trainer(cfg())
        game.real, game.noise = Recorder(game.real), Recorder(game.noise)
        for _ in range(2):
            game.iteration()
        stats = game.read_stats()
        torch.save({"real": game.real.calls, "noise": game.noise.calls, "stats": stats,
                    "params": [p.detach().clone() for p in list(game.G.parameters()) + list(game.D.parameters())]},
                   f"{out}/rank{rank}.pt")
    finally:
        distributed.leave()


@pytest.mark.slow  # (several processes: the full suite)
def test_two_processes_take_the_step_of_one_process_on_the_union_of_their_minibatches(tmp_path):
    """Averaged gradients: with plain SGD the step is linear in the gradient, so the 2-process
    parameters must equal a 1-process game fed both processes' minibatches (batch 2m)."""
    codes = distributed.spawn(_play_two_iterations, 2, (str(tmp_path),))
    assert codes == [0, 0]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in range(2))
    for a, b in zip(r0["params"], r1["params"]):
        assert torch.equal(a, b)  # every process holds the same players
    assert not torch.equal(r0["real"][0], r1["real"][0])  # ... fed by different minibatches
    assert not torch.equal(r0["noise"][0], r1["noise"][0])

    single = build_trainer(cfg(batch_size=32))
    single.real = Recorder(replay=[torch.cat(p) for p in zip(r0["real"], r1["real"])])
    single.noise = Recorder(replay=[torch.cat(p) for p in zip(r0["noise"], r1["noise"])])
    start = [p.detach().clone() for p in list(single.G.parameters()) + list(single.D.parameters())]
    for _ in range(2):
        single.iteration()
    moved = 0.0
    for p, q, p0 in zip(list(single.G.parameters()) + list(single.D.parameters()), r0["params"], start):
        torch.testing.assert_close(q, p.detach(), rtol=1e-5, atol=1e-6)
        moved = max(moved, float((p.detach() - p0).abs().max()))
    assert moved > 1e-3  # the check compares real steps, not two unchanged initialisations
    s = single.read_stats()
    for key in ("value", "d_loss", "g_loss", "d_real", "d_fake"):  # means over both processes' samples
        assert r0["stats"][key] == pytest.approx(s[key], rel=1e-5)
        assert r1["stats"][key] == r0["stats"][key]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "minimax", "train", *args], capture_output=True, text=True,
                          timeout=TIMEOUT)


@pytest.mark.slow  # (several processes or a browser: the full suite)
def test_cli_nproc_trains_checkpoints_and_resumes_exactly(tmp_path, capsys):
    """A 16-step run of two processes, trained by two torchrun agents (two machines, here on one, met at a c10d
    rendezvous endpoint), equals bitwise a run of ``--nproc 2`` stopped at 8 steps and resumed to 16."""
    common = ["--g-hidden", "16,16", "--d-hidden", "16,16", "--latent-dim", "4",
              "--batch-size", "32", "--log-every", "4", "--checkpoint-every", "4", "--eval-samples", "100",
              "--d-dropout", "0.2", "--lr-decay", "none", "--no-plots", "--device", "cpu",
              "--tensorboard", "off", "--threads", "1"]  # constant lr: a run of 8 steps is the first half of 16
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    nodes = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
                               "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "test",
                               "-m", "minimax", "train", "--out", str(tmp_path / "a"), "--steps", "16", *common],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = []
    for node in nodes:
        out, err = node.communicate(timeout=TIMEOUT)
        assert node.returncode == 0, err[-2000:]
        outs.append(out)
    assert sum(o.count("done: 16 iterations") for o in outs) == 1 and sum(o.count("done:") for o in outs) == 1
    half = _cli("--out", str(tmp_path / "b"), "--steps", "8", "--nproc", "2", *common)
    assert half.returncode == 0, half.stderr
    resumed = subprocess.run([sys.executable, "-m", "minimax", "train", "--resume", str(tmp_path / "b"),
                              "--steps", "16", "--nproc", "2", "--no-plots"], capture_output=True, text=True,
                             timeout=TIMEOUT)
    assert resumed.returncode == 0, resumed.stderr
    assert "done: 16 iterations" in resumed.stdout and resumed.stdout.count("done:") == 1  # rank 0 reports
    ta, ma = ckpt.read_checkpoint(ckpt.latest_checkpoint(tmp_path / "a"))
    tb, mb = ckpt.read_checkpoint(ckpt.latest_checkpoint(tmp_path / "b"))
    assert ma["world_size"] == mb["world_size"] == 2 and ma["step"] == mb["step"] == 16
    assert "rng.noise.rank1" in ta and not torch.equal(ta["rng.noise"], ta["rng.noise.rank1"])
    assert ta.keys() == tb.keys()
    for k in ta:
        assert torch.equal(ta[k], tb[k]), k  # bitwise: players, optimisers, every rank's streams
    strip = [{k: v for k, v in r.items() if k != "steps_per_sec"}
             for r in read_metrics(tmp_path / "a" / "metrics.jsonl")]
    assert strip == [{k: v for k, v in r.items() if k != "steps_per_sec"}
                     for r in read_metrics(tmp_path / "b" / "metrics.jsonl")]
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["processes"] == 2
    # resumed with another number of processes: refused before any process starts (so in this process)
    assert main(["train", "--resume", str(tmp_path / "b"), "--steps", "20"]) == 2
    assert "resume it with --nproc 2" in capsys.readouterr().err


@pytest.mark.slow  # (several processes: the full suite)
def test_nproc_rejects_bad_values(tmp_path, capsys):
    assert main(["train", "--nproc", "0", "--out", str(tmp_path / "x")]) == 2  # (refused before any process)
    assert "--nproc must be a positive integer" in capsys.readouterr().err
    # an error inside the processes: one line (rank 0's), status 2, no traceback
    bad = _cli("--nproc", "2", "--dataset", "mnist", "--steps", "3", "--out", str(tmp_path / "y"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "needs --data-dir" in bad.stderr
    (tmp_path / "file").write_text("")
    bad = _cli("--nproc", "2", "--steps", "3", "--out", str(tmp_path / "file" / "run"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "cannot write to run directory" in bad.stderr


@pytest.mark.slow  # (several processes: the full suite)
def test_sigterm_to_the_launcher_checkpoints_every_process_and_exits(tmp_path):
    import signal
    import time

    run = tmp_path / "r"
    p = subprocess.Popen([sys.executable, "-m", "minimax", "train", "--nproc", "2", "--out", str(run),
                          "--steps", "1000000", "--g-hidden", "16,16", "--d-hidden", "16,16", "--latent-dim", "4",
                          "--batch-size", "32", "--log-every", "5", "--checkpoint-every", "1000", "--no-plots",
                          "--device", "cpu", "--tensorboard", "off"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    start = time.time()
    while time.time() - start < 60 and ckpt.latest_checkpoint(run) is None:
        time.sleep(0.05)
    time.sleep(1.0)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 143, err
    err = after_status(err)  # (rank 0's first line, what it trains on; the other rank prints nothing)
    assert err.count("\n") == 1 and "interrupted by SIGTERM" in err and "--resume" in err
    tensors, meta = ckpt.read_checkpoint(ckpt.latest_checkpoint(run))
    assert meta["step"] > 0 and meta["step"] % 5 == 0  # the processes agree to stop where they meet
    assert meta["world_size"] == 2 and "rng.data.rank1" in tensors
