"""A component is one file: a game, a metric and a data set written in a throwaway package, each in one module that
declares itself (``COMPONENTS``), are listed in ``--help``, trained, evaluated and reported with no other edit — found
through ``MINIMAX_PLUGINS``, as an installed package's ``minimax.components`` entry points would be.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GAME = '''
"""A hinge game with its margin as an option: L_D = E max(0, m − D(x)) + E max(0, m + D(G(z))), L_G = −E D(G(z))."""
from dataclasses import dataclass

import torch.nn.functional as F

from minimax.games.hinge import HingeGame

COMPONENTS = [{
    "kind": "game", "name": "margin-hinge", "object": "MarginHinge", "real_sign": True,
    "help": "hinge with margin m (a plugin)",
    "options": {"hinge_margin": {"type": "float", "default": 1.0, "min": 0, "help": "the hinge's margin m"}},
    "on": {"ring": {"steps": 6000, "lr": 1e-4}},
}]


@dataclass(frozen=True)
class MarginHinge(HingeGame):
    hinge_margin: float = 1.0
    name = "margin-hinge"

    def discriminator_loss(self, real, fake):
        """L_D = mean max(0, m − s_real) + mean max(0, m + s_fake)."""
        return F.relu(self.hinge_margin - real).mean() + F.relu(self.hinge_margin + fake).mean()
'''

METRIC = '''
"""How far a 2-D run's samples lie from the origin: mean ‖x‖, its std and the q-quantile (a plugin metric)."""
import torch

from minimax.evaluation.job import make_job

COMPONENTS = [{
    "kind": "metric", "name": "radius", "datasets": ("ring", "grid"), "headline": ("radius",),
    "help": "mean distance of the samples from the origin (a plugin)",
    "report": (("radius", "{radius:.3f} ± {radius_std:.3f}, q-quantile {radius_q:.3f} (q = {p[quantile]})"),),
    "default_n": 1000,
    "options": {"quantile": {"type": "float", "default": 0.5, "min": 0, "max": 1, "help": "the quantile q"}},
}]
SCORES = {"radius": "mean ‖x‖", "radius_std": "its std", "radius_q": "the q-quantile of ‖x‖"}


def run(opts, run_dir):
    job = make_job(opts, run_dir, ("ring", "grid"))
    x, source = job.samples(eight_bit=False)
    r = x.norm(dim=1).double()
    q = opts.option("quantile")
    opts.say(f"radius {float(r.mean()):.3f}")
    return {"radius": float(r.mean()), "radius_std": float(r.std()), "radius_q": float(torch.quantile(r, q)),
            "protocol": job.protocol(source, None, None, quantile=q)}
'''

DATASET = '''
"""Three Gaussians on a line (a plugin data set): p(x) = (1/3) Σ_k N(x; (2k − 2, 0), 0.05² I)."""
import torch

from minimax.data.toy import GaussianMixture

COMPONENTS = [{
    "kind": "dataset", "name": "triple", "object": "load", "images": False,
    "help": "three Gaussians on a line (a plugin)",
    "preset": {"steps": 300, "latent_dim": 2, "lr": 1e-3, "g_hidden": [32, 32], "d_hidden": [32, 32]},
}]


def load(data_dir, device, output, split):
    return GaussianMixture("triple", torch.tensor([[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]], dtype=torch.float64), 0.05)
'''


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """The throwaway package (one file per component) and the environment that names it."""
    root = tmp_path_factory.mktemp("plugins")
    (root / "throwaway").mkdir()
    (root / "throwaway" / "__init__.py").write_text("")
    (root / "throwaway" / "margin_hinge.py").write_text(textwrap.dedent(GAME))
    (root / "throwaway" / "radius.py").write_text(textwrap.dedent(METRIC))
    (root / "throwaway" / "triple.py").write_text(textwrap.dedent(DATASET))
    env = {**os.environ, "PYTHONPATH": str(root),
           "MINIMAX_PLUGINS": "throwaway.margin_hinge, throwaway.radius, throwaway.triple",
           "COLUMNS": "200"}
    return root, env


def minimax(env, *args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "minimax", *map(str, args)], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600)


RUN_MANY = """
import contextlib, io, json, sys
from minimax.cli import main
out = []
for args in json.loads(sys.argv[1]):
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        try:
            code = main(args)
        except SystemExit as stop:  # --help
            code = stop.code
    out.append({"code": code, "out": o.getvalue(), "err": e.getvalue()})
print(json.dumps(out))
"""


def commands(env, *argvs) -> list[dict]:
    """Each command line's exit code, stdout and stderr, run one after another in one fresh process (torch loads
    once), as ``minimax ARGS`` would run them."""
    done = subprocess.run([sys.executable, "-c", RUN_MANY, json.dumps([[str(a) for a in argv] for argv in argvs])],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_a_plugin_game_metric_and_data_set_are_listed_trained_evaluated_and_reported(plugin, tmp_path):
    root, env = plugin
    run = tmp_path / "run"
    train_help, eval_help, radius_help, on_triple, trained, scored, reported, *refused = commands(
        env, ["train", "--help"], ["eval", "--help"], ["eval", "radius", "--help"],
        ["train", "--dataset", "triple", "--out", tmp_path / "triple", "--progress", "off", "--no-plots",
         "--tensorboard", "off", "--threads", 1],
        ["train", "--game", "margin-hinge", "--hinge-margin", "0.5", "--steps", 200, "--log-every", 50,
         "--g-hidden", 32, "--d-hidden", 32, "--snapshots", 2, "--out", run, "--progress", "off", "--no-plots",
         "--tensorboard", "off", "--threads", 1],
        ["eval", "radius", run, "--quantile", "0.9", "--n", 500],
        ["report", run, "--out", tmp_path / "r.html"],
        ["train", "--game", "margin-hinge", "--hinge-margin", "-1", "--steps", 1, "--out", tmp_path / "x"],
        ["train", "--hinge-margin", "0.5", "--steps", 1, "--out", tmp_path / "x"],
        ["eval", "radius", run, "--quantile", "2"])
    assert "margin-hinge" in train_help["out"] and "--hinge-margin" in train_help["out"]
    assert "radius" in eval_help["out"] and "--quantile" in radius_help["out"]
    assert "triple" in train_help["out"]

    # the data set: its preset under the defaults, its density read by the mode metrics
    assert on_triple["code"] == 0, on_triple["err"]
    config = json.loads((tmp_path / "triple" / "config.json").read_text())
    assert config["dataset"] == "triple" and config["steps"] == 300
    assert config["sources"]["steps"] == "dataset preset (triple)"
    summary = json.loads((tmp_path / "triple" / "summary.json").read_text())
    assert summary["step"] == 300 and summary["n_modes"] == 3 and summary["modes"] >= 1

    assert trained["code"] == 0, trained["err"]
    config = json.loads((run / "config.json").read_text())
    assert config["game"] == "margin-hinge" and config["hinge_margin"] == 0.5
    assert config["sources"]["lr"] == "game-on-dataset preset (margin-hinge on ring)" and config["lr"] == 1e-4
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 200 and all(r["d_loss"] == r["d_loss"] for r in records if "d_loss" in r)

    assert scored["code"] == 0, scored["err"]
    record = json.loads((run / "radius.json").read_text())
    assert record["protocol"]["quantile"] == 0.9 and record["radius_q"] >= record["radius"] * 0.5
    assert reported["code"] == 0, reported["err"]
    page = (tmp_path / "r.html").read_text()
    assert "q = 0.9" in page and "margin-hinge" in page

    # the declared options are checked as every other: type, range, and the game they belong to
    for done, words in zip(refused, ["hinge_margin must be >= 0", "applies to game margin-hinge, not 'minimax'",
                                     "--quantile must be in [0, 1]"]):
        assert done["code"] == 2 and words in done["err"] and done["err"].count("\n") == 1, done["err"]
    python = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import minimax
        from minimax.games import make_objective
        assert make_objective("margin-hinge", hinge_margin=0.25).hinge_margin == 0.25
        try:
            minimax.evaluate({str(run)!r}, "radius", quantile="0.5", write=False)
        except minimax.MinimaxError as e:
            print(e)
        """)], env=env, capture_output=True, text=True, timeout=300)
    assert python.returncode == 0 and "quantile must be a number" in python.stdout, python.stderr


def test_an_installed_packages_entry_points_name_its_components(plugin, tmp_path):
    """An installed distribution declares ``[project.entry-points."minimax.components"]``: its modules are read as
    MINIMAX_PLUGINS's are (here a dist-info folder as pip writes it, on the path)."""
    root, env = plugin
    info = tmp_path / "throwaway-1.0.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_text("[console_scripts]\nx = y:z\n\n[minimax.components]\n"
                                           "margin = throwaway.margin_hinge\nradius = throwaway.radius:run\n")
    installed = {**env, "MINIMAX_PLUGINS": "", "PYTHONPATH": f"{root}:{tmp_path}"}
    listed, = commands(installed, ["train", "--help"])
    assert "margin-hinge" in listed["out"] and "--hinge-margin" in listed["out"]
    assert "margin-hinge" not in commands({**env, "MINIMAX_PLUGINS": ""}, ["train", "--help"])[0]["out"]


def test_a_plugin_that_cannot_be_read_is_one_line_and_the_rest_works(plugin, tmp_path):
    root, env = plugin
    (root / "throwaway" / "broken.py").write_text("COMPONENTS = [{'kind': 'game', 'name': 'x', 'object': open}]\n")
    (root / "throwaway" / "clash.py").write_text("COMPONENTS = [{'kind': 'game', 'name': 'clash', 'object': 'x', "
                                                 "'help': 'h', 'options': {'steps': {'type': 'int', 'default': 1, "
                                                 "'help': 'h'}}}]\n")
    for named, words in [("throwaway.missing", "throwaway.missing"), ("throwaway.broken", "catalogue's constants"),
                         ("throwaway.clash", "clash declares option 'steps', which is already a setting")]:
        bad = {**env, "MINIMAX_PLUGINS": named}
        done = minimax(bad, "train", "--steps", 1, "--out", tmp_path / "x")
        assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert minimax(bad, "train", "--help").returncode == 0  # (help still shows the built-in components)


def test_the_built_in_declarations_are_read_without_importing_the_modules():
    code = ("import sys; from minimax import registry; r = registry.registry(); "
            "print(len(r.games), len(r.metrics), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "MINIMAX_PLUGINS": ""}).stdout.split()
    package = Path(__file__).resolve().parents[1] / "minimax"
    declared = [sum(p.read_text().count(f'"kind": "{kind}"') for p in (package / folder).glob("*.py"))
                for kind, folder in (("game", "games"), ("metric", "evaluation"))]
    assert out == [*map(str, declared), "False"] and declared[0] >= 11 and declared[1] >= 7


def test_a_declaration_is_literals_and_its_options_are_checked(tmp_path):
    from minimax import registry
    from minimax.errors import MinimaxError

    f = tmp_path / "m.py"
    f.write_text("import torch\nfrom minimax.catalogue import IMAGE_SETS\nCOMPONENTS = [{'kind': 'metric', "
                 "'name': 'x', 'datasets': IMAGE_SETS}]\nx = torch.zeros(1)\n")
    assert registry.declarations_in(f, "m") == [{"kind": "metric", "name": "x",
                                                 "datasets": registry.catalogue.IMAGE_SETS}]
    for bad, words in [("COMPONENTS = [{'name': 'x' * 3}]", "not a literal"),
                       ("COMPONENTS = [{'name': SOMETHING}]", "names 'SOMETHING'"),
                       ("COMPONENTS = {'name': 'x'}", "must be a list of dicts")]:
        f.write_text(bad + "\n")
        with pytest.raises(MinimaxError, match=words):
            registry.declarations_in(f, "m")
    assert registry._option("q", {"type": "float", "default": 0.5, "min": 0, "max": 1, "help": "h"}, "m").need == \
        "in [0, 1]"
    for spec, words in [({"type": "float", "default": 2.0, "max": 1, "help": "h"}, "default 2.0 is not <= 1"),
                        ({"type": "complex", "default": 0, "help": "h"}, "must be a dict with type"),
                        ({"type": "int", "default": 1, "help": "h", "maximum": 3}, "at most")]:
        with pytest.raises(MinimaxError, match=words):
            registry._option("q", spec, "m")
    option = registry._option("n", {"type": "int", "default": 10, "min": 1, "help": "h"}, "m")
    assert option.convert("12", "--n", text=True) == 12
    for raw, text in [(12.5, False), ("12", False), (True, False), ("x", True), (0, False)]:
        with pytest.raises(MinimaxError):
            option.convert(raw, "n", text=text)
    widths = registry._option("w", {"type": "widths", "default": (8, 8), "help": "h"}, "m")
    assert widths.convert("16,32", "--w", text=True) == (16, 32) and widths.convert([4], "w") == (4,)
    for raw, text in [("16,x", True), ("16", False), ([1.5], False), ([0], False), ([], False)]:
        with pytest.raises(MinimaxError, match="w must be"):
            widths.convert(raw, "w", text=text)
