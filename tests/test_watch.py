"""``minimax watch``: the page of a run, built from what the run writes — its numbers against the theory's, its latest
snapshot, Algorithm 1 beside the code — updating while the run trains; refused requests stay refused."""
from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from minimax.viz import watch

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--dataset", "ring", "--batch-size", "32", "--g-hidden", "16", "--d-hidden", "16", "--threads", "1",
         "--progress", "off", "--no-plots", "--tensorboard", "off"]


def minimax_train(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "minimax", "train", *SMALL, *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def started(trainer: subprocess.Popen, run: Path) -> None:
    """Wait for a training process to have written its run's config (or say why it stopped)."""
    for _ in range(600):
        if (run / "config.json").is_file():
            return
        assert trainer.poll() is None, trainer.stderr.read()
        time.sleep(0.1)
    raise AssertionError("the run did not start in a minute")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run = tmp_path_factory.mktemp("watch") / "ring"
    assert minimax_train("--steps", 300, "--log-every", 20, "--snapshots", 4, "--out", run).wait(timeout=300) == 0
    return run


@pytest.fixture
def server(finished):
    srv = watch.serve(finished, port=0)
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def get(srv, path: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None):
    host, port = srv.server_address[:2]
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    out = r.status, r.getheader("Content-Type"), r.read()
    c.close()
    return out


def test_algorithm_1_points_at_the_lines_that_run_it():
    rows = watch.algorithm_lines()
    assert [r["pseudo"].split()[0] for r in rows] == ["for", "for", "sample", "update", "end", "sample", "update",
                                                       "end"]
    for r in rows:
        if r["file"]:
            assert (ROOT / r["file"]).read_text().splitlines()[r["line"] - 1].strip() == r["code"]
    assert "opt_d.step" in rows[3]["code"] and "opt_g.step" in rows[6]["code"] and "self.k" in rows[1]["code"]


def test_the_page_shows_the_games_numbers_beside_the_theorys(server, finished):
    status, kind, page = get(server, "/")
    assert status == 200 and kind.startswith("text/html") and b"Algorithm 1" in page and b"<script" in page
    assert b"http://" not in page.replace(b"http://www.w3.org", b"") and b"https://" not in page  # no CDN
    status, kind, body = get(server, "/state.json")
    state = json.loads(body)
    assert status == 200 and state["game"] == "minimax" and state["training"] is False
    assert state["equilibrium"]["value"] == pytest.approx(-1.3862944) and state["equilibrium"]["d_fake"] == 0.5
    steps = [r["step"] for r in state["records"]]
    assert steps == sorted(steps) and steps[-1] == state["last_step"] == 300
    assert {"value", "d_real", "d_fake", "g_grad_norm_saturating", "g_grad_norm_non_saturating"} <= \
        set(state["records"][-1])
    assert state["snapshots"] == [0, 100, 200, 300]
    assert json.loads(get(server, "/state.json?since=300")[2])["records"] == []
    assert len(json.loads(get(server, "/state.json?since=100")[2])["records"]) == len([s for s in steps if s > 100])
    status, kind, png = get(server, "/frame/300.png")
    assert status == 200 and kind == "image/png" and png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert get(server, "/frame/300.png")[2] == png  # drawn once


@pytest.mark.parametrize("path", ["/../config.json", "/config.json", "/frame/../config.json", "/frame/%2e%2e/x.png",
                                  "/frame/-1.png", "/frame/7.png", "/frame/1e2.png", "/frame/" + "9" * 40 + ".png",
                                  "/frame/300.npy", "/samples/step-00000300.npy", "/state.json/../config.json",
                                  "//etc/passwd", "/state.json?since=1;rm", "/state.json?since=" + "9" * 30])
def test_no_request_reads_anything_but_what_the_page_shows(server, finished, path):
    status, _, body = get(server, path)
    assert status in (400, 404), (path, status)
    assert b"steps" not in body and b"root:" not in body


def test_other_methods_other_hosts_and_many_clients_are_refused_or_served(server):
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        assert get(server, "/", method, body=b"x" * 1000)[0] == 405
    assert get(server, "/state.json", headers={"Host": "attacker.example:80"})[0] == 403  # DNS rebinding
    # a body announced as huge is never read: the answer comes at once and the connection is closed
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: 10000000000\r\n\r\n".encode())
        assert s.recv(100).startswith(b"HTTP/1.0 405")
    with socket.create_connection((host, port), timeout=10) as s:  # not HTTP at all
        s.sendall(b"\x00\x01garbage\r\n\r\n")
        assert b"Error code: 400" in s.recv(4000)
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")
        assert b" 414" in s.recv(100)
    with ThreadPoolExecutor(24) as pool:  # many pages at once: each is answered
        answers = list(pool.map(lambda _: get(server, "/state.json")[0], range(48)))
    assert answers == [200] * 48


def test_a_run_is_followed_while_it_trains_and_seen_to_stop(tmp_path):
    run = tmp_path / "live"
    trainer = minimax_train("--steps", 10**6, "--log-every", 25, "--snapshots", 1000, "--out", run)
    try:
        started(trainer, run)
        srv = watch.serve(run, port=0)
        threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
        seen = []
        for _ in range(300):
            state = json.loads(get(srv, "/state.json")[2])
            if state["training"] and state["last_step"] is not None and (not seen or state["last_step"] > seen[-1]):
                seen.append(state["last_step"])
            if len(seen) >= 3:
                break
            time.sleep(0.2)
        assert len(seen) >= 3, seen  # the page's numbers move while the run trains
        assert state["snapshots"]
    finally:
        trainer.send_signal(signal.SIGTERM)  # a stop on request: a checkpoint, then exit
        trainer.wait(timeout=120)
    assert json.loads(get(srv, "/state.json")[2])["training"] is False
    srv.shutdown()
    srv.server_close()


def test_the_command_refuses_a_missing_run_and_a_bad_port(tmp_path, capsys):
    from minimax.cli import main

    assert main(["watch", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["watch", str(tmp_path), "--port", "70000"]) == 2
    assert "--port must be in [0, 65535]" in capsys.readouterr().err


@pytest.mark.slow  # (several processes or a browser: the full suite)
def test_the_page_updates_in_a_real_browser_while_a_run_trains(tmp_path):
    """Headless Chromium opens the page while a tiny run trains: the step shown moves, the latest snapshot's frame
    decodes, Algorithm 1's lines are there; a screenshot is kept for the docs (tmp_path/watch.png)."""
    from test_report import _chrome

    run = tmp_path / "live"
    trainer = minimax_train("--steps", 10**6, "--log-every", 25, "--snapshots", 1000, "--out", run)
    driver = None
    try:
        started(trainer, run)
        srv = watch.serve(run, port=0)
        threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
        driver = _chrome()
        driver.get(srv.url)
        steps = []
        for _ in range(200):
            shown = driver.execute_script("return document.getElementById('step').textContent")
            if shown.isdigit() and (not steps or int(shown) > steps[-1]):
                steps.append(int(shown))
            if len(steps) >= 3:
                break
            time.sleep(0.25)
        frame = driver.execute_script("const i = document.getElementById('frame'); return [i.complete, "
                                      "i.naturalWidth, document.querySelectorAll('#algo tr').length, "
                                      "document.getElementById('status').textContent]")
        driver.save_screenshot(str(tmp_path / "watch.png"))
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    finally:
        if driver is not None:
            driver.quit()
        trainer.send_signal(signal.SIGTERM)
        trainer.wait(timeout=120)
    assert len(steps) >= 3, steps
    assert frame[0] and frame[1] > 300 and frame[2] == len(watch.ALGORITHM) and frame[3] == "training", frame
    assert errors == []


def test_gs_push_is_the_gradient_of_its_loss_and_saturates_where_d_rejects():
    """On D(x) = σ(a·x₁): the non-saturating push ∇ log D = a(1 − D) ê₁, the saturating ∇D/(1 − D) = a·D ê₁ —
    the latter vanishes where D rejects the samples (Goodfellow et al. 2014, §3); an unbounded critic's push is ∇D."""
    import numpy as np

    from minimax.games import make_objective
    from minimax.viz.plots import generator_push

    a = 3.0
    gx, gy = np.meshgrid(np.linspace(-2, 2, 201), np.linspace(-1, 1, 101))
    d = 1 / (1 + np.exp(-a * gx))
    game = make_objective("minimax")
    (u_ns, v_ns), (u_s, v_s) = (generator_push(d, gx, gy, game, g) for g in ("non-saturating", "saturating"))
    inner = (slice(1, -1), slice(1, -1))  # (one-sided differences at the edges)
    assert np.allclose(u_ns[inner], (a * (1 - d))[inner], atol=2e-3) and np.abs(v_ns).max() < 1e-9
    assert np.allclose(u_s[inner], (a * d)[inner], atol=2e-3) and np.abs(v_s).max() < 1e-9
    rejected = gx < -1.5  # D < 0.011 there: the saturating push is < 1/80 of the non-saturating one
    assert (u_s[rejected] < u_ns[rejected] / 80).all()
    u_w, _ = generator_push(3 * gx, gx, gy, make_objective("wgan-gp"))
    assert np.allclose(u_w, 3.0)
