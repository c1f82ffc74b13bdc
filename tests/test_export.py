"""``minimax export``: the generator loads in plain PyTorch (no minimax imported) and computes what minimax's own
sampler computes, for image and conditional runs, with the weights asked for."""
import json
import subprocess
import sys

import pytest
import torch

from minimax.cli import main
from minimax.run.sampling import generate_from
from minimax.run.trained import load_trained

LOADER = """
import json, sys, torch
info = {"minimax.json": ""}
G = torch.export.load(sys.argv[1], extra_files=info).module()
info = json.loads(info["minimax.json"])
inputs = torch.load(sys.argv[2])
with torch.no_grad():
    x = G(*inputs)
torch.save(x, sys.argv[3])
print(json.dumps({"info": info, "minimax_imported": any(m.split(".")[0] == "minimax" for m in sys.modules)}))
"""


def load_elsewhere(pt2, inputs, tmp_path) -> tuple[torch.Tensor, dict]:
    """G(*inputs) computed by the exported file in a fresh interpreter that never imports minimax."""
    torch.save(inputs, tmp_path / "in.pt")
    done = subprocess.run([sys.executable, "-c", LOADER, str(pt2), str(tmp_path / "in.pt"), str(tmp_path / "x.pt")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert not report["minimax_imported"]
    return torch.load(tmp_path / "x.pt"), report["info"]


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    from test_image_data import tiny_dcgan_run

    return tiny_dcgan_run(tmp_path_factory.mktemp("export"), "--g-ema", "0.5", steps=3)


@pytest.mark.parametrize("weights", ["auto", "raw"])
def test_exported_image_generator_is_the_runs_sampler(image_run, tmp_path, weights, capsys):
    out = tmp_path / f"g-{weights}.pt2"
    assert main(["export", str(image_run), "--out", str(out), "--weights", weights]) == 0
    assert "takes z with z ~ N(0, I) (latent_dim 8)" in capsys.readouterr().out
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(3))
    x, info = load_elsewhere(out, (z,), tmp_path)
    run = load_trained(image_run)
    G = run.G_average if weights == "auto" else run.G
    run.G_average = G  # the sampler generate_from uses
    torch.testing.assert_close(x, generate_from(run, z), rtol=0, atol=1e-5)
    assert x.shape == (5, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    assert info["weights"] == ("average" if weights == "auto" else "raw")
    assert (info["latent_dim"], info["prior"], info["output_shape"], info["step"]) == (8, "normal", [1, 28, 28], 3)
    # the two weight sets differ, so the test tells them apart
    assert not torch.equal(run.G.net[0].weight, load_trained(image_run).G_average.net[0].weight)


def test_default_output_is_in_the_run_and_bad_requests_are_one_line(image_run, tmp_path, capsys):
    assert main(["export", str(image_run)]) == 0
    assert (image_run / "generator.pt2").stat().st_size > 0
    capsys.readouterr()
    for argv, message in ((["--weights", "best"], "--weights must be one of auto, average, raw"),
                          (["--out", str(image_run / "config.json")], "one of run"),
                          (["--out", str(image_run / "checkpoints" / "g.pt2")], "inside run")):
        assert main(["export", str(image_run), *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert main(["export", str(tmp_path / "missing")]) == 2


def test_exported_conditional_generator_takes_the_class(tmp_path, capsys):
    run_dir = tmp_path / "c"
    assert main(["train", "--out", str(run_dir), "--dataset", "ring", "--condition", "concat", "--steps", "5",
                 "--g-hidden", "16,16", "--d-hidden", "16,16", "--batch-size", "32", "--device", "cpu",
                 "--no-plots", "--tensorboard", "off"]) == 0
    assert main(["export", str(run_dir), "--weights", "average"]) == 2
    assert "kept no weight average" in capsys.readouterr().err
    assert main(["export", str(run_dir)]) == 0
    run = load_trained(run_dir)
    z = torch.rand(6, run.cfg.latent_dim, generator=torch.Generator().manual_seed(0)) * 2 - 1
    c = torch.tensor([0, 1, 2, 3, 4, 5])
    x, info = load_elsewhere(run_dir / "generator.pt2", (z, c), tmp_path)
    torch.testing.assert_close(x, generate_from(run, z, c), rtol=0, atol=1e-6)
    assert info["conditional"] and len(info["class_names"]) == 8 and info["prior"] == "uniform"
