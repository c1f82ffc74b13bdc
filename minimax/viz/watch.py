r"""``minimax watch RUN``: a local web page that shows a run's game while it trains (or after), from what the run
writes — its metrics log and its snapshots — with no network and no new dependency (the standard library's HTTP
server; every script and style is in this module).

What the page shows: the game's value V̂ beside its optimum (−log 4 for the 2014 game), mean D(x) and D(G(z))
beside ½, both generator losses' gradient sizes (the saturation of §3), the health monitor's state in words, the
latest snapshot (D's surface behind real and generated samples on 2-D data, Figure 1 on 1-D data, the sample grid
on images, each beside the curves: the report's replay frame), and Algorithm 1 of Goodfellow et al. (2014) beside
the lines of minimax's source that carry it out. It polls the run once a second; a new snapshot is drawn once.

What it serves, and nothing else: ``/`` (the page), ``/state.json?since=N`` (the records after step N, the
snapshots' steps, the run's state) and ``/frame/STEP.png`` (one snapshot's frame; STEP one of the run's). It reads
only the run's own files, writes nothing, answers GET and HEAD only, and refuses a request whose Host is not the
address it serves (a page on another site cannot read it through DNS rebinding). It binds 127.0.0.1 by default.

Served by the training process itself (``minimax train --live``), the page also steers the run: ``POST /control``
with a JSON command (pause, resume, one D step, one G step, one iteration, new k or learning rates) goes to the
loop's queue (:class:`minimax.run.steering.Control`), which takes it between iterations and records it. Such a
request must carry the page's token (only a page that can read this server has it), a JSON body of at most 2 KB,
and no Origin other than this server's.
"""
from __future__ import annotations

import fcntl
import inspect
import json
import math
import os
import re
import secrets
import threading
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ..algorithm import trainer as trainer_module
from ..data import load_dataset
from ..errors import MinimaxError
from ..games import make_objective
from ..run import loop
from ..run.monitor import HealthMonitor
from ..run.rundir import LOCK, METRICS, SAMPLES, field_name, load_run_config, snapshot_files
from ..run.runlog import read_metrics
from ..run.snapshots import load_field
from . import plots

MAX_RECORDS = 5000  # records per answer (a longer log is sent in pieces: the page asks again from the last step)
FRAMES_CACHED = 8
MAX_COMMAND_BYTES = 2048
EVENTS_SHOWN = 20

# Algorithm 1 of Goodfellow et al. (2014), line by line, and where minimax carries each line out: (the line, the
# function, a piece of its source). The source lines are found when the page is served, so they cannot go stale
# (tests/test_watch.py checks that every piece is found).
ALGORITHM = [
    ("for number of training iterations do", loop, "_play", "trainer.iteration("),
    ("for k steps do", trainer_module.Trainer, "iteration", "for _ in range(self.k"),
    ("sample a minibatch of m noise samples z ~ p_g(z) and m examples x ~ p_data(x)", trainer_module.Trainer,
     "_forward_d", "(x, c), z = self.real_labelled(m), self.noise(m)"),
    ("update D by ascending ∇_θd (1/m) Σ [log D(x) + log(1 − D(G(z)))] (minimax: descending L_D = −V̂)",
     trainer_module.Trainer, "discriminator_step", "self.opt_d.step()"),
    ("end for", None, None, None),
    ("sample a minibatch of m noise samples z ~ p_g(z)", trainer_module.Trainer, "generator_step",
     "z, c = self.noise(m), self.labels(m)"),
    ("update G by descending ∇_θg (1/m) Σ log(1 − D(G(z))) (or the non-saturating −log D(G(z)), §3)",
     trainer_module.Trainer, "update_generator", "self.opt_g.step()"),
    ("end for", None, None, None),
]


def algorithm_lines() -> list[dict]:
    """Algorithm 1's lines, each with the file, line number and text of the source line that carries it out."""
    out = []
    for pseudo, owner, name, piece in ALGORITHM:
        row = {"pseudo": pseudo, "file": None, "line": None, "code": ""}
        if owner is not None:
            function = getattr(owner, name)
            lines, first = inspect.getsourcelines(function)
            found = next(i for i, text in enumerate(lines) if piece in text)  # (StopIteration: the source moved)
            path = Path(inspect.getsourcefile(function))
            row.update(file=f"minimax/{path.relative_to(Path(loop.__file__).parents[1]).as_posix()}",
                       line=first + found, code=lines[found].strip())
        out.append(row)
    return out


def _plain(label: str) -> str:
    """A plot label's mathtext as plain text: '$\\log(1-D(G(z)))$' -> 'log(1-D(G(z)))'."""
    return re.sub(r"\\(\w+)", r"\1", label.replace("$", ""))


def _finite(v):
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


class Run:
    """One run as the page sees it: its config and game (read once), its records (re-read as the log grows), its
    snapshots' steps, and its frames (drawn once each, a few kept)."""

    def __init__(self, run_dir: str | Path):
        self.dir = Path(run_dir)
        self.cfg = load_run_config(self.dir)
        self.objective = make_objective(self.cfg.game, **self.cfg.game_options)
        self.algorithm = algorithm_lines()
        self._lock = threading.Lock()  # the log's reader and matplotlib are used by one request at a time
        self._records: list[dict] = []
        self._events: list[dict] = []  # the steering events in the log
        self._log_size = -1
        self._frames: OrderedDict[tuple[int, int], bytes] = OrderedDict()  # (step, the snapshot's mtime) -> PNG
        self._layout: dict = {}  # the frames' margins, fitted on the first frame drawn (plots.replay_frame)
        self._health: tuple[int, list[str]] = (-2, [])  # (the log's size it was read at, the standing findings)

    def records(self) -> list[dict]:
        """The game's records, re-read when the log has changed (a resumed or rolled-back run rewrites it)."""
        path = self.dir / METRICS
        size = path.stat().st_size if path.is_file() else 0
        if size != self._log_size:
            every = read_metrics(path) if size else []
            self._records = [r for r in every if "d_loss" in r]
            self._events = [{k: v for k, v in r.items() if k != "event"} for r in every if r.get("event") == "steer"]
            self._log_size = size
        return self._records

    def training(self) -> bool:
        """Whether a process holds the run's lock (trains into it) now."""
        try:
            fd = os.open(self.dir / LOCK, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except OSError:
            return True
        finally:
            os.close(fd)

    def state(self, since: int = -1) -> dict:
        """What the page shows, with the records after step ``since``."""
        with self._lock:
            records = self.records()
            if self._health[0] != self._log_size:  # the monitor replayed once per change of the log
                active: dict[str, str] = {}
                for f in HealthMonitor(self.objective, self.cfg.g_loss, self.cfg.k, self.cfg.steps).replay(records):
                    if f.cleared:  # the findings still standing at the last record, in words
                        active.pop(f.condition, None)
                    else:
                        active[f.condition] = f.line()
                self._health = (self._log_size, list(active.values()))
            health = self._health[1]
        new = [r for r in records if r["step"] > since][:MAX_RECORDS]
        files = snapshot_files(self.dir)
        keys = ("step", *self.objective.statistics_names, *self.objective.diagnostic_names, "diversity")
        o = self.objective
        return {
            "run": str(self.dir), "game": o.name, "formula": o.formula, "dataset": self.cfg.dataset,
            "steps": self.cfg.steps, "k": self.cfg.k, "update": self.cfg.update,
            "g_loss": self.cfg.g_loss if "g_loss" in self.cfg.game_options else None,
            "training": self.training(), "last_step": records[-1]["step"] if records else None,
            "equilibrium": {k: _finite(v) for k, v in o.equilibrium.items()}, "symbols": o.symbols,
            "statistics": list(o.statistics_names), "diagnostics": list(o.diagnostic_names),
            "diagnostic_labels": {k: _plain(v) for k, v in o.diagnostic_labels.items()},
            "records": [{k: _finite(r.get(k)) for k in keys if k in r} for r in new],
            "snapshots": [step for step, _ in files],
            "snapshot_version": files[-1][1].stat().st_mtime_ns if files else None,  # (a live run redraws a step)
            "health": health, "algorithm": self.algorithm, "events": self._events[-EVENTS_SHOWN:],
        }

    def frame(self, step: int) -> bytes | None:
        """The replay frame of the snapshot at ``step`` (None: no such snapshot)."""
        files = dict(snapshot_files(self.dir))
        if step not in files:
            return None
        key = (step, files[step].stat().st_mtime_ns)
        with self._lock:
            if key in self._frames:
                self._frames.move_to_end(key)
                return self._frames[key]
            x = plots.load_snapshot(files[step])
            field, data = None, None
            if x.ndim == 2:
                data = load_dataset(self.cfg)
                path = self.dir / SAMPLES / field_name(step)
                field = load_field(path) if path.is_file() else None
            png = plots.replay_frame(step, x, field, self.records(), data, self.objective,
                                     self.cfg.condition != "none", self.cfg.game_options.get("g_loss"), self._layout)
            self._frames[key] = png
            while len(self._frames) > FRAMES_CACHED:
                self._frames.popitem(last=False)
            return png


class Handler(BaseHTTPRequestHandler):
    """GET and HEAD of the three routes; every other method and path is refused."""

    server: WatchServer
    timeout = 10  # a client that sends nothing for this long is dropped
    server_version = "minimax-watch"
    sys_version = ""

    def log_message(self, format, *args):  # quiet: the terminal shows the run's URL, not every request
        pass

    def _send(self, code: int, body: bytes, kind: str = "text/plain; charset=utf-8") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; "
                         "style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _refuse(self) -> None:
        self.close_connection = True
        self._send(405, b"minimax watch answers GET only (and POST /control on a live run)\n")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def do_POST(self) -> None:
        """A steering command for a live run: ``{"token": ..., "action": ..., "k": ...}`` as JSON."""
        control = self.server.control
        if control is None:
            return self._refuse()
        self.close_connection = True  # one command per connection: nothing is left unread
        if self.headers.get("Host", "") not in self.server.hosts or \
                self.headers.get("Origin", "") not in self.server.origins | {""}:
            return self._send(403, b"minimax watch steers from its own page only\n")
        if urlsplit(self.path).path != "/control":
            return self._send(404, b"not found\n")
        if self.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
            return self._send(415, b"a command is application/json\n")
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or len(length) > 12:
            return self._send(411, b"a command needs its Content-Length\n")
        if int(length) > MAX_COMMAND_BYTES:
            return self._send(413, f"a command is at most {MAX_COMMAND_BYTES} bytes\n".encode())
        try:
            command = json.loads(self.rfile.read(int(length)))
        except (ValueError, OSError):
            return self._send(400, b"a command is a JSON object\n")
        token = command.pop("token", None) if isinstance(command, dict) else None
        if not isinstance(token, str) or not secrets.compare_digest(token.encode(), control.token.encode()):
            return self._send(403, b"a command carries the page's token\n")
        try:
            answer = control.submit(command)
        except MinimaxError as e:
            return self._send(400, f"{e}\n".encode())
        self._send(200, json.dumps(answer).encode(), "application/json")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if self.headers.get("Host", "") not in self.server.hosts:
            return self._send(403, b"minimax watch serves its own address only\n")
        url = urlsplit(self.path)
        run = self.server.run
        try:
            if url.path == "/":
                return self._send(200, PAGE.encode(), "text/html; charset=utf-8")
            if url.path == "/state.json" and run is None:  # (train --live: the run directory is not written yet)
                return self._send(200, b'{"starting": true}', "application/json")
            if url.path == "/state.json":
                since = parse_qs(url.query).get("since", ["-1"])[0]
                if not since.lstrip("-").isdigit() or len(since) > 20:
                    return self._send(400, b"since must be a step\n")
                state = run.state(int(since))
                control = self.server.control
                if control is not None:
                    state["live"] = {"token": control.token, "paused": control.paused, **control.view}
                return self._send(200, json.dumps(state).encode(), "application/json")
            parts = url.path.split("/")
            if len(parts) == 3 and parts[1] == "frame" and parts[2].endswith(".png") and \
                    parts[2][:-4].isdigit() and len(parts[2]) <= 24:
                png = run.frame(int(parts[2][:-4])) if run is not None else None
                if png is not None:
                    return self._send(200, png, "image/png")
        except (MinimaxError, OSError, ValueError) as e:  # a file the run is rewriting, a malformed snapshot
            return self._send(503, f"not readable now: {e}\n".encode())
        self._send(404, b"not found\n")


class WatchServer(ThreadingHTTPServer):
    """The page's server for one run; ``url`` is where it listens."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, run_dir: str | Path | None, host: str = "127.0.0.1", port: int = 8000, control=None):
        self.run = Run(run_dir) if run_dir is not None else None
        self.control = control  # (minimax.run.steering.Control: a live run, steerable from the page)
        try:
            super().__init__((host, port), Handler)
        except OSError as e:
            raise MinimaxError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
        port = self.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}/"
        self.hosts = {f"{shown}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"}
        self.origins = {f"http://{h}" for h in self.hosts}

    def attach(self, run_dir: str | Path) -> None:
        """Serve ``run_dir`` (a live run's server is listening before its directory is written)."""
        self.run = Run(run_dir)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>minimax watch</title><link rel="icon" href="data:,">
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1300px}
h1{font-size:1.3em;margin:0}.math{color:#555}.row{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
#frame{max-width:760px;width:100%;border:1px solid #ddd}.good{color:#1a7f37}.bad{color:#b42318}
svg{border:1px solid #ddd;background:#fff}.algo td{font-family:ui-monospace,monospace;font-size:.8em}
.algo tr.on{background:#fff4c2}.algo td.src{color:#555}#status{font-weight:bold}
</style></head><body>
<h1>minimax watch: <span id="run"></span></h1>
<p class="math" id="formula"></p>
<p><span id="status">loading</span> · step <span id="step">–</span> of <span id="steps">–</span>
 · k = <span id="k"></span> · <span id="update"></span></p>
<div id="steer" hidden><b>steer</b> (between iterations; each change is recorded and a resume replays it):
<button id="pause">pause</button> <button id="resume">resume</button>
<button id="d_step">one D step</button> <button id="g_step">one G step</button>
<button id="iteration">one iteration</button> ·
k <input id="set-k" size="3"> G lr <input id="set-g_lr" size="7"> D lr <input id="set-d_lr" size="7">
<button id="set">set</button> <span id="steer-said" class="math"></span>
<div class="math">steering so far: <span id="events">none</span></div></div>
<div class="row">
<div><img id="frame" alt="the game at the latest snapshot"><div id="frame-step" class="math"></div></div>
<div>
<table id="numbers"><tr><th>statistic</th><th>now</th><th>at the optimum</th></tr></table>
<p><b>health</b>: <span id="health">–</span></p>
<svg id="curve-value" width="420" height="140"></svg><br>
<svg id="curve-d" width="420" height="140"></svg><br>
<svg id="curve-grad" width="420" height="140"></svg>
</div></div>
<h2 style="font-size:1.1em">Algorithm 1 (Goodfellow et al. 2014) beside the code that runs it</h2>
<table class="algo" id="algo"></table>
<script>
"use strict";
let since = -1, records = [], shownFrame = null, algoDrawn = false, token = null;
const $ = (id) => document.getElementById(id);
function text(id, v) { $(id).textContent = v; }
function fmt(v) { return v === null || v === undefined ? "–" : Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3)
  ? v.toExponential(2) : v.toFixed(4); }
function curve(svg, keys, labels, optimum) {
  const el = $(svg), W = el.width.baseVal.value, H = el.height.baseVal.value, pad = 28;
  el.innerHTML = "";
  const pts = records.filter(r => keys.some(k => r[k] !== null && r[k] !== undefined));
  if (!pts.length) return;
  let lo = Infinity, hi = -Infinity;
  for (const r of pts) for (const k of keys) if (r[k] !== null && r[k] !== undefined) { lo = Math.min(lo, r[k]);
    hi = Math.max(hi, r[k]); }
  if (optimum !== null && optimum !== undefined) { lo = Math.min(lo, optimum); hi = Math.max(hi, optimum); }
  if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
  const s0 = pts[0].step, s1 = Math.max(pts[pts.length - 1].step, s0 + 1);
  const x = (s) => pad + (W - pad - 4) * (s - s0) / (s1 - s0), y = (v) => H - 16 - (H - 24) * (v - lo) / (hi - lo);
  const colours = ["#1f77b4", "#d62728", "#2ca02c"];
  let out = "";
  if (optimum !== null && optimum !== undefined)
    out += `<line x1="${pad}" x2="${W - 4}" y1="${y(optimum)}" y2="${y(optimum)}" stroke="#888" ` +
           `stroke-dasharray="4 3"/>`;
  keys.forEach((k, i) => {
    const p = pts.filter(r => r[k] !== null && r[k] !== undefined)
                 .map(r => `${x(r.step).toFixed(1)},${y(r[k]).toFixed(1)}`);
    out += `<polyline fill="none" stroke="${colours[i]}" stroke-width="1.5" points="${p.join(" ")}"/>`;
    out += `<text x="${pad + 4 + 150 * i}" y="11" font-size="10" fill="${colours[i]}">${escape(labels[i])}</text>`;
  });
  out += `<text x="2" y="${H - 16}" font-size="9">${fmt(lo)}</text><text x="2" y="20" font-size="9">${fmt(hi)}</text>`;
  out += `<text x="${pad}" y="${H - 3}" font-size="9">step ${s0}</text>`;
  out += `<text x="${W - 60}" y="${H - 3}" font-size="9">${s1}</text>`;
  el.innerHTML = out;
}
function escape(s) { const d = document.createElement("div"); d.textContent = s; return d.innerHTML; }
function draw(st) {
  text("run", st.run); text("formula", `game ${st.game}: ${st.formula}`); text("steps", st.steps);
  text("k", st.k); text("update", st.update + (st.g_loss ? `, G's loss ${st.g_loss}` : ""));
  const live = st.live || null;
  text("status", live ? (live.paused ? "paused" : "training (live)")
       : st.training ? "training" : "not training (the run's last record)");
  const last = records.length ? records[records.length - 1] : null;
  text("step", live && live.step !== undefined ? live.step : last ? last.step : "–");
  if (live) {
    token = live.token; $("steer").hidden = false;
    if (live.k !== undefined) text("k", live.k);
    text("events", st.events.length ? st.events.map(e => `${e.action}` + Object.keys(e).filter(
      n => n !== "action" && n !== "step").map(n => ` ${n}=${e[n]}`).join("") + ` @${e.step}`).join(", ") : "none");
  }
  const rows = [["<tr><th>statistic</th><th>now</th><th>at the optimum</th></tr>"]];
  for (const k of st.statistics.concat(st.diagnostics)) {
    const name = st.symbols[k] || st.diagnostic_labels[k] || k;
    const opt = st.equilibrium[k];
    rows.push(`<tr><td>${escape(name)}</td><td>${last ? fmt(last[k]) : "–"}</td>` +
              `<td>${opt === undefined ? "" : fmt(opt)}</td></tr>`);
  }
  $("numbers").innerHTML = rows.join("");
  $("health").innerHTML = st.health.length ? st.health.map(h => `<span class="bad">${escape(h)}</span>`).join("<br>")
    : `<span class="good">no finding${records.length < 5 ? " yet (the monitor reads 5 records)" : ""}</span>`;
  const v = st.statistics.includes("value") ? "value" : "d_loss";
  curve("curve-value", [v], [st.symbols[v] || v], st.equilibrium[v]);
  curve("curve-d", ["d_real", "d_fake"], [st.symbols.d_real || "D(x)", st.symbols.d_fake || "D(G(z))"],
        st.equilibrium.d_real);
  curve("curve-grad", st.diagnostics, st.diagnostics.map(k => st.diagnostic_labels[k] || k), null);
  if (st.snapshots.length) {
    const latest = st.snapshots[st.snapshots.length - 1], key = `${latest}:${st.snapshot_version}`;
    if (key !== shownFrame) { shownFrame = key; $("frame").src = `/frame/${latest}.png?v=${st.snapshot_version}`;
      text("frame-step", `the latest snapshot, step ${latest}`); }
  }
  if (!algoDrawn) {
    $("algo").innerHTML = st.algorithm.map((a, i) => `<tr id="algo-${i}"><td>${escape(a.pseudo)}</td>` +
      `<td class="src">${a.file ? escape(a.file + ":" + a.line) : ""}</td><td>${escape(a.code)}</td></tr>`).join("");
    algoDrawn = true;
  }
  // highlighted: the lines that run (all of them while training); paused, the update a D or G step just made
  const lastMove = live && live.paused && st.events.length ? st.events[st.events.length - 1].action : null;
  const moved = {d_step: st.algorithm.findIndex(a => a.code.includes("opt_d.step")),
                 g_step: st.algorithm.findIndex(a => a.code.includes("opt_g.step"))}[lastMove];
  st.algorithm.forEach((a, i) => $("algo-" + i).classList.toggle("on", live && live.paused ? i === moved
    : st.training && a.file !== null));
}
async function poll() {
  try {
    const r = await fetch(`/state.json?since=${since}`, {cache: "no-store"});
    if (r.ok) {
      const st = await r.json();
      if (st.starting) { text("status", "the run is starting"); setTimeout(poll, 500); return; }
      if (st.records.length && st.records[0].step <= since) records = [];
      records = records.concat(st.records);
      if (records.length) since = records[records.length - 1].step;
      if (st.last_step !== null && st.last_step < since) { records = []; since = -1; }
      draw(st);
    }
  } catch (e) { text("status", "the watch server stopped"); }
  setTimeout(poll, 1000);
}
async function steer(command) {
  if (!token) return;
  try {
    const r = await fetch("/control", {method: "POST", headers: {"Content-Type": "application/json"},
                                       body: JSON.stringify(Object.assign({token: token}, command))});
    text("steer-said", r.ok ? `sent: ${command.action}` : (await r.text()).trim());
  } catch (e) { text("steer-said", "the run stopped"); }
}
for (const a of ["pause", "resume", "d_step", "g_step", "iteration"])
  $(a).addEventListener("click", () => steer({action: a}));
$("set").addEventListener("click", () => {
  const c = {action: "set"};
  for (const n of ["k", "g_lr", "d_lr"]) { const v = $("set-" + n).value.trim(); if (v) c[n] = Number(v); }
  steer(c);
});
poll();
</script></body></html>
"""


def serve(run_dir: str | Path | None, host: str = "127.0.0.1", port: int = 8000, control=None) -> WatchServer:
    """A server for the page of ``run_dir`` (not yet serving: ``serve_forever()``; its ``url``); with ``control``
    (:class:`minimax.run.steering.Control`), the page steers the run too."""
    return WatchServer(run_dir, host, port, control)


__all__ = ["serve", "WatchServer", "Run", "algorithm_lines"]
