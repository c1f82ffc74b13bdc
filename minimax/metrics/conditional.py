r"""Metrics of the conditional game p(x | c): does a sample asked for class c look like class c?

* **class quality** (mixtures with known modes): for class c, the fraction of the samples G(z, c) within
  3σ of c's own mode μ_c,  q_c = (1/N_c) Σ_{i: c_i = c} 1[‖x_i − μ_c‖ ≤ 3σ]  (the 2-D sets' high-quality
  test of :mod:`minimax.metrics.modes`, with the mode fixed by the label instead of the nearest one);
* **conditional accuracy** (image sets): a classifier f labels the samples of each requested class,
  acc_c = (1/N_c) Σ_{i: c_i = c} 1[f(x_i) = c], reported per class and as the mean over classes; the
  classifier's accuracy on real test images is the ceiling;
* **intra-class FID**: the Fréchet distance (:mod:`minimax.metrics.frechet`) between the features of the
  real test images of class c and of the samples of class c, per class and averaged over classes
  (Miyato & Koyama 2018, §5).
"""
from __future__ import annotations

import torch

from .frechet import GaussianFit, frechet_between


def _per_class(hits: torch.Tensor, labels: torch.Tensor, classes: int) -> list[float]:
    """The mean of ``hits`` over the samples of each class (NaN for a class with no sample)."""
    labels = labels.long().cpu()
    total = torch.bincount(labels, minlength=classes).double()
    good = torch.bincount(labels, weights=hits.double().cpu(), minlength=classes)
    return (good / total).tolist()


def class_quality(samples: torch.Tensor, labels: torch.Tensor, centres: torch.Tensor, std: float,
                  threshold: float = 3.0) -> dict:
    """``{"class_quality": [q_0, ...], "class_quality_min": min_c q_c}``: per class, the fraction of its samples
    within ``threshold``·σ of its own mode."""
    if samples.ndim != 2 or samples.shape[1] != centres.shape[1] or len(labels) != len(samples):
        raise ValueError(f"samples must have shape (N, {centres.shape[1]}) with one label each")
    x, c = samples.double().cpu(), centres.double().cpu()
    near = (x - c[labels.long().cpu()]).norm(dim=1) <= threshold * std
    per = _per_class(near, labels, len(c))
    return {"class_quality": per, "class_quality_min": min(per)}


def conditional_accuracy(predicted: torch.Tensor, requested: torch.Tensor, classes: int) -> dict:
    """``{"accuracy": [acc_0, ...], "accuracy_mean": mean over the classes asked for}``."""
    if predicted.shape != requested.shape:
        raise ValueError(f"{len(predicted)} predictions for {len(requested)} requested labels")
    per = _per_class(predicted.cpu() == requested.cpu(), requested, classes)
    asked = [a for a in per if a == a]  # classes with samples (NaN != NaN)
    return {"accuracy": per, "accuracy_mean": sum(asked) / len(asked)}


def intra_class_fid(real: torch.Tensor, real_labels: torch.Tensor, fake: torch.Tensor, fake_labels: torch.Tensor,
                    classes: int) -> dict:
    """``{"intra_fid": [d²_0, ...], "intra_fid_mean": mean}``, d²_c the Fréchet distance between the features of
    the real and of the generated samples of class c (each class needs at least 2 of each)."""
    per = []
    for c in range(classes):
        r, f = real[real_labels == c], fake[fake_labels == c]
        if len(r) < 2 or len(f) < 2:
            raise ValueError(f"class {c}: {len(r)} real and {len(f)} generated samples; the Fréchet distance "
                             "needs at least 2 of each")
        fits = [GaussianFit(real.shape[1]), GaussianFit(real.shape[1])]
        fits[0].update(r)
        fits[1].update(f)
        per.append(frechet_between(*fits))
    return {"intra_fid": per, "intra_fid_mean": sum(per) / len(per)}
