"""Steering a run by hand (``minimax train --live``): the commands act between iterations, each is recorded in the
run's steering log, its metrics log and its checkpoints, and a run resumed from before or after them ends bitwise
where the steered run did. The live page's control takes only well-formed commands from its own page."""
from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from minimax import TrainConfig
from minimax.errors import MinimaxError
from minimax.run import checkpoint as ckpt
from minimax.run.loop import train_run
from minimax.run.steering import QUEUE, Control
from minimax.viz import watch

SMALL = dict(dataset="ring", steps=12, batch_size=32, g_hidden=(16,), d_hidden=(16,), checkpoint_every=4, log_every=2,
             snapshots=2, keep_checkpoints=10, tensorboard="off")
COMMANDS = [{"action": "pause"}, {"action": "d_step"}, {"action": "iteration"}, {"action": "iteration"},
            {"action": "g_step"}, {"action": "set", "k": 2, "g_lr": 5e-4}, {"action": "resume"}]


def queued(*commands) -> Control:
    control = Control()
    for c in commands:
        control.submit(c)
    return control


def checkpoint_at(run: Path, step: int):
    return ckpt.read_checkpoint(run / "checkpoints" / f"step-{step:08d}.safetensors")


def game_log(run: Path) -> list[dict]:  # the metrics log without its wall-clock rate
    return [{k: v for k, v in json.loads(line).items() if k != "steps_per_sec"}
            for line in (run / "metrics.jsonl").read_text().splitlines()]


def resume_from(run: Path, step: int, copy: Path, control: Control | None = None):
    """A copy of ``run`` whose latest checkpoint is that of ``step``, resumed to the end."""
    shutil.copytree(run, copy)
    (copy / "checkpoints" / "latest").write_text(f"step-{step:08d}.safetensors\n")
    return train_run(resume=copy, progress=False, threads=1, control=control)


@pytest.fixture(scope="module")
def steered(tmp_path_factory):
    """A run paused at once, stepped by hand (one D step, two iterations, one G step, k 2 and G's rate 5e-4 set at
    step 2), then let go; and its twin nobody steered."""
    root = tmp_path_factory.mktemp("steer")
    result = train_run(TrainConfig(**SMALL, out=str(root / "steered")), progress=False, threads=1,
                       control=queued(*COMMANDS))
    plain = train_run(TrainConfig(**SMALL, out=str(root / "plain")), progress=False, threads=1)
    return result, plain


def test_commands_act_between_iterations_and_are_recorded(steered):
    result, plain = steered
    run = result.run_dir
    events = [json.loads(line) for line in (run / "steering.jsonl").read_text().splitlines()]
    assert [(e["step"], e["action"]) for e in events] == [(0, "pause"), (0, "d_step"), (0, "iteration"),
                                                          (1, "iteration"), (2, "g_step"), (2, "set"), (2, "resume")]
    assert events[5] == {"step": 2, "action": "set", "k": 2, "g_lr": 5e-4}
    logged = [r for r in game_log(run) if r.get("event") == "steer"]
    assert [{k: v for k, v in r.items() if k != "event"} for r in logged] == events
    assert checkpoint_at(run, 12)[1]["steering"] == events and "steering" not in checkpoint_at(run, 0)[1]
    # in force to the end: k = 2, G's rate 5e-4 under the ring's linear decay (before iteration 12: × 1/12)
    trainer = result.trainer
    assert trainer.k == 2 and trainer.opt_g.param_groups[0]["lr"] == pytest.approx(5e-4 / 12)
    assert trainer.opt_d.param_groups[0]["lr"] == pytest.approx(plain.trainer.opt_d.param_groups[0]["lr"])
    # and it changed the game: the players differ from the unsteered twin's, which left no steering behind
    assert not torch.equal(checkpoint_at(run, 12)[0]["G.net.0.weight"],
                           checkpoint_at(plain.run_dir, 12)[0]["G.net.0.weight"])
    assert not (plain.run_dir / "steering.jsonl").exists() and "steering" not in checkpoint_at(plain.run_dir, 12)[1]


@pytest.mark.parametrize("start", [0, 4])
def test_a_resumed_run_replays_the_steering_and_ends_bitwise_where_it_did(steered, tmp_path, start):
    """From step 0 (before every event: each is replayed at its step) or step 4 (after them: k and the rate come
    from the checkpoint), the resumed run's checkpoints and metrics log are the steered run's."""
    run = steered[0].run_dir
    again = resume_from(run, start, tmp_path / "again").run_dir
    for step in (8, 12):
        (t1, m1), (t2, m2) = checkpoint_at(run, step), checkpoint_at(again, step)
        assert t1.keys() == t2.keys() and all(torch.equal(t1[k], t2[k]) for k in t1), (start, step)
        assert {k: v for k, v in m1.items() if k != "sha256"} == {k: v for k, v in m2.items() if k != "sha256"}
    assert game_log(again) == game_log(run)
    assert (again / "steering.jsonl").read_text() == (run / "steering.jsonl").read_text()


def test_a_new_command_forks_the_history_it_meets(steered, tmp_path):
    """Resumed from step 0 with a command of its own, the run replays the events of step 0, then takes its command
    and drops the events it would have replayed later (the history forks there, as after a roll-back)."""
    run = steered[0].run_dir
    again = resume_from(run, 0, tmp_path / "fork", control=queued({"action": "g_step"})).run_dir
    assert [json.loads(line) for line in (again / "steering.jsonl").read_text().splitlines()] == \
        [{"step": 0, "action": a} for a in ("pause", "d_step", "iteration", "g_step")]
    assert [r["action"] for r in game_log(again) if r.get("event") == "steer"] == \
        ["pause", "d_step", "iteration", "g_step"]


@pytest.mark.parametrize("command, message", [
    ({"action": "jump"}, "steering action must be one of"),
    ({"action": "set"}, "'set' needs one of k, g_lr, d_lr"),
    ({"action": "set", "k": 0}, "k must be in [1, 1000]"),
    ({"action": "set", "k": 2.5}, "k must be an integer"),
    ({"action": "set", "k": "2"}, "k must be a number"),
    ({"action": "set", "g_lr": -1}, "g_lr must be > 0"),
    ({"action": "set", "d_lr": float("inf")}, "d_lr must be > 0"),
    ({"action": "set", "d_lr": None}, "d_lr must be"),
    ({"action": "d_step", "k": 2}, "takes no 'k'"),
    ({"action": "pause", "step": 3}, "the step is the run's"),
    (["pause"], "the step is the run's"),
])
def test_a_malformed_command_is_refused_in_one_line(command, message):
    with pytest.raises(MinimaxError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Control().submit(command)


def test_a_checkpoint_with_a_forged_steering_history_is_refused(steered, tmp_path):
    tensors, meta = checkpoint_at(steered[0].run_dir, 12)
    for bad in ([{"step": 99, "action": "pause"}], [{"step": 1, "action": "set", "k": -4}],
                [{"step": 2, "action": "g_step"}, {"step": 1, "action": "g_step"}], "pause"):
        path = tmp_path / "forged.safetensors"
        path.write_bytes(ckpt.encode(tensors, {**meta, "steering": bad}))
        with pytest.raises(MinimaxError, match="steering"):
            ckpt.read_checkpoint(path)


# -- the live page's control ---------------------------------------------------------------------------------------
@pytest.fixture
def live(steered):
    control = Control()
    srv = watch.serve(steered[0].run_dir, port=0, control=control)
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    yield srv, control
    srv.shutdown()
    srv.server_close()


def post(srv, body, headers: dict | None = None, path: str = "/control"):
    host, port = srv.server_address[:2]
    c = http.client.HTTPConnection(host, port, timeout=30)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    c.request("POST", path, body=raw, headers={"Content-Type": "application/json", **(headers or {})})
    r = c.getresponse()
    out = r.status, r.read()
    c.close()
    return out


def test_the_page_steers_with_its_token_and_nothing_else_does(live):
    srv, control = live
    host, port = srv.server_address[:2]
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request("GET", "/state.json")
    state = json.loads(c.getresponse().read())
    token = state["live"]["token"]
    assert token == control.token and state["live"]["paused"] is False
    assert [e["action"] for e in state["events"]][:2] == ["pause", "d_step"]  # the run's steering so far
    assert post(srv, {"token": token, "action": "d_step"}) == (200, b'{"queued": 1}')
    refused = [
        post(srv, {"action": "d_step"}),  # no token
        post(srv, {"token": "x" * 32, "action": "d_step"}),
        post(srv, {"token": token, "action": "d_step"}, {"Origin": "http://attacker.example"}),  # another site
        post(srv, {"token": token, "action": "d_step"}, {"Host": "attacker.example:80"}),  # DNS rebinding
        post(srv, {"token": token, "action": "d_step"}, {"Content-Type": "text/plain"}),  # a form's simple POST
        post(srv, b"{not json", {}),
        post(srv, b"x" * 5000, {}),
        post(srv, {"token": token, "action": "d_step"}, path="/../control"),
        post(srv, {"token": token, "action": "set", "k": 10**6}),
        post(srv, {"token": token, "action": "d_step", "step": 0}),
    ]
    assert [s for s, _ in refused] == [403, 403, 403, 403, 415, 400, 413, 404, 400, 400], refused
    assert b"k must be in [1, 1000]" in refused[8][1]
    assert control.take(wait=False) == {"action": "d_step"} and control.take(wait=False) is None
    # a body announced as huge is never read; a flood of commands is bounded
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"POST /control HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: 10000000000\r\n\r\n".encode())
        assert s.recv(100).startswith(b"HTTP/1.0 413")
    answers = [post(srv, {"token": token, "action": "pause"})[0] for _ in range(QUEUE + 2)]
    assert answers == [200] * QUEUE + [400, 400]


def test_a_watch_page_without_a_live_run_does_not_steer(steered):
    srv = watch.serve(steered[0].run_dir, port=0)
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        assert post(srv, {"token": "", "action": "pause"})[0] == 405
    finally:
        srv.shutdown()
        srv.server_close()


def test_live_refuses_several_processes_and_a_taken_port(capsys):
    from minimax.cli import main

    assert main(["train", "--live", "--nproc", "2"]) == 2
    assert "--live steers one process" in capsys.readouterr().err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert main(["train", "--live", "--port", str(s.getsockname()[1]), "--out", "/nonexistent/x"]) == 2
        assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


@pytest.mark.slow  # (several processes or a browser: the full suite)
def test_a_live_run_is_paused_stepped_and_let_go_in_a_real_browser(tmp_path):
    """``minimax train --live`` in a subprocess, its page in headless Chromium: pause (the step stops), one D step
    (the step stays, the D step is recorded, the frame shows the paused step), one iteration (the step moves by one),
    resume (it moves on); then a stop signal ends the run with a checkpoint that holds the steering. Screenshot:
    tmp_path/live.png."""
    from test_report import _chrome

    run = tmp_path / "live"
    trainer = subprocess.Popen([sys.executable, "-m", "minimax", "train", "--dataset", "ring", "--batch-size", "32",
                                "--g-hidden", "16", "--d-hidden", "16", "--threads", "1", "--progress", "off",
                                "--no-plots", "--tensorboard", "off", "--steps", str(10**6), "--log-every", "25",
                                "--snapshots", "1000", "--out", str(run), "--live", "--port", "0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    driver = None

    def shown(element: str) -> str:
        return driver.execute_script(f"return document.getElementById('{element}').textContent")

    def wait_for(check, what: str):
        for _ in range(240):
            if check():
                return
            time.sleep(0.25)
        raise AssertionError(f"{what}: step {shown('step')}, status {shown('status')}, events {shown('events')}")

    try:
        line = trainer.stderr.readline()  # "live: http://127.0.0.1:PORT/ (...)"
        assert line.startswith("live: http://"), line
        driver = _chrome()
        driver.get(line.split()[1])
        wait_for(lambda: shown("step").isdigit() and int(shown("step")) > 50, "the run trains")
        driver.find_element("id", "pause").click()
        wait_for(lambda: shown("status") == "paused", "pause")
        paused_at = int(shown("step"))
        time.sleep(1.5)
        assert int(shown("step")) == paused_at  # the step count stops
        driver.find_element("id", "d_step").click()
        wait_for(lambda: f"d_step @{paused_at}" in shown("events"), "one D step")
        assert int(shown("step")) == paused_at
        wait_for(lambda: shown("frame-step").endswith(f"step {paused_at}"), "the frame of the paused step")
        driver.find_element("id", "iteration").click()
        wait_for(lambda: int(shown("step")) == paused_at + 1, "one iteration")
        driver.save_screenshot(str(tmp_path / "live.png"))
        driver.find_element("id", "resume").click()
        wait_for(lambda: int(shown("step")) > paused_at + 20 and shown("status") == "training (live)", "resume")
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    finally:
        if driver is not None:
            driver.quit()
        trainer.send_signal(signal.SIGTERM)
        trainer.wait(timeout=120)
    assert errors == []
    meta = ckpt.read_latest(run)[1]
    assert [(e["step"], e["action"]) for e in meta["steering"]] == [
        (paused_at, "pause"), (paused_at, "d_step"), (paused_at, "iteration"), (paused_at + 1, "resume")]
