"""Paths in noise space (slerp, lerp) against their closed forms, and ``minimax sample --interpolate``."""
import math

import numpy as np
import pytest
import torch
from PIL import Image

from minimax.cli import main
from minimax.data.prior import latent_path, lerp, slerp
from minimax.run.sampling import generate_from, interpolate
from minimax.run.trained import load_trained


def test_slerp_is_the_great_circle_between_orthogonal_unit_vectors():
    """z0 = e1, z1 = e2 (Ω = π/2): z(t) = (cos(tπ/2), sin(tπ/2))."""
    t = torch.linspace(0, 1, 7, dtype=torch.float64)
    z = slerp(torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64), t)
    expected = torch.stack([torch.cos(t * math.pi / 2), torch.sin(t * math.pi / 2)], 1)
    torch.testing.assert_close(z, expected, rtol=0, atol=1e-12)


def test_slerp_keeps_the_norm_and_moves_at_constant_angular_speed():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(5, 64, generator=g, dtype=torch.float64), torch.randn(5, 64, generator=g, dtype=torch.float64)
    z1 = z1 / z1.norm(dim=1, keepdim=True) * z0.norm(dim=1, keepdim=True)  # equal norms
    z = slerp(z0, z1, torch.linspace(0, 1, 9, dtype=torch.float64))  # [5, 9, 64]
    torch.testing.assert_close(z[:, 0], z0, rtol=0, atol=1e-12)
    torch.testing.assert_close(z[:, -1], z1, rtol=0, atol=1e-12)
    norms = z.norm(dim=2)
    torch.testing.assert_close(norms, norms[:, :1].expand_as(norms), rtol=1e-12, atol=0)
    u = z / norms.unsqueeze(2)
    steps = torch.acos((u[:, 1:] * u[:, :-1]).sum(2).clamp(-1, 1))
    torch.testing.assert_close(steps, steps[:, :1].expand_as(steps), rtol=1e-9, atol=1e-12)
    # the straight line between them dips inside the sphere (the reason for slerp under N(0, I))
    assert (lerp(z0, z1, torch.tensor([0.5], dtype=torch.float64))[:, 0].norm(dim=1) < 0.9 * norms[:, 0]).all()


def test_slerp_between_parallel_vectors_is_the_straight_line_and_finite():
    z0 = torch.tensor([[1.0, 2.0]])
    t = torch.linspace(0, 1, 5)
    z = slerp(z0, 3 * z0, t)
    assert torch.isfinite(z).all()
    torch.testing.assert_close(z, lerp(z0, 3 * z0, t))


def test_auto_path_is_slerp_under_the_normal_prior_and_lerp_in_the_uniform_cube():
    g = torch.Generator().manual_seed(1)
    z0, z1 = torch.rand(50, 8, generator=g) * 2 - 1, torch.rand(50, 8, generator=g) * 2 - 1
    torch.testing.assert_close(latent_path(z0, z1, 6, "auto", "uniform"), lerp(z0, z1, torch.linspace(0, 1, 6)))
    torch.testing.assert_close(latent_path(z0, z1, 6, "auto", "normal"), slerp(z0, z1, torch.linspace(0, 1, 6)))
    assert latent_path(z0, z1, 6, "auto", "uniform").abs().max() <= 1


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    from test_image_data import tiny_dcgan_run

    return tiny_dcgan_run(tmp_path_factory.mktemp("interp"))


def test_interpolate_is_g_at_the_path_points(image_run):
    run = load_trained(image_run)
    x = interpolate(run, 3, 4, "slerp", seed=5)
    assert x.shape == (3, 4, 1, 28, 28)
    ends = torch.randn(6, 8, generator=torch.Generator().manual_seed(5))  # the run's prior is normal
    z = slerp(ends[:3], ends[3:], torch.linspace(0, 1, 4))
    torch.testing.assert_close(x, generate_from(run, z.reshape(12, 8)).reshape(3, 4, 1, 28, 28))


def test_sample_interpolate_writes_a_strip_per_path_a_gif_and_an_array(image_run, capsys):
    assert main(["sample", str(image_run), "--interpolate", "3", "--points", "5"]) == 0
    strip = image_run / "sample-interpolate-3x5-seed0.png"
    assert "3 slerp paths of 5 points" in capsys.readouterr().out
    w, h = Image.open(strip).size
    assert (w, h) == (5 * 30 + 2, 3 * 30 + 2)  # 5 images of 28 px + 2 px padding per row, 3 rows
    gif, npy = image_run / "sample-interp.gif", image_run / "sample-interp.npy"
    assert main(["sample", str(image_run), "--interpolate", "3", "--points", "5", "--path", "lerp",
                 "--gif", str(gif), "--out", str(npy)]) == 0
    frames = Image.open(gif)
    assert frames.n_frames == 5 + 3  # forth, then back without repeating the ends
    assert np.load(npy).shape == (15, 784)


@pytest.mark.parametrize("argv,message", [
    (["--interpolate", "2", "--n", "5"], "--n and --interpolate"),
    (["--interpolate", "0"], "--interpolate must be a positive integer"),
    (["--interpolate", "2", "--points", "1"], "--points must be at least 2"),
    (["--interpolate", "2", "--path", "curve"], "--path must be one of auto, slerp, lerp"),
    (["--gif", "x.gif"], "--gif draws paths"),
    (["--interpolate", "2", "--grid", "a.png", "--gif", "a.png"], "name the same file"),
])
def test_sample_interpolate_refuses_bad_flags_in_one_line(image_run, capsys, argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sample", str(image_run), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_gif_of_your_own_name_in_a_run_is_replaced_by_the_next_but_a_file_minimax_did_not_write_is_not(
        image_run, capsys):
    run = image_run
    args = ["sample", str(run), "--interpolate", "2", "--points", "3", "--gif", str(run / "walk.gif")]
    assert main(args) == 0 and main(args) == 0  # the second replaces the first (RUN/.sampled names it)
    (run / "mine.gif").write_bytes(b"GIF89a of yours")
    capsys.readouterr()
    assert main([*args[:-1], str(run / "mine.gif")]) == 2
    assert "was not written by this command" in capsys.readouterr().err
    assert (run / "mine.gif").read_bytes() == b"GIF89a of yours"
    (run / "walk.gif").unlink()
    (run / "mine.gif").unlink()
