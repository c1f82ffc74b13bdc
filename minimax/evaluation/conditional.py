"""A conditional run's per-class accuracy (the share of class c's samples the dataset's classifier calls c)
and intra-class FID (class c's samples against class c's test images), from :mod:`minimax.metrics.conditional`."""
from __future__ import annotations

import torch

from ..catalogue import WITH_TEST_SPLIT
from ..data import load_dataset
from ..errors import MinimaxError
from ..metrics import classifier
from ..metrics.conditional import conditional_accuracy, intra_class_fid
from ..run.sampling import generate
from .job import classifier_record, eight_bits, make_job
from .options import EvalOptions
from .reference import check_shapes

COMPONENTS = [{
    "kind": "metric", "name": "conditional", "order": 7, "datasets": WITH_TEST_SPLIT,
    "headline": ("accuracy_mean", "intra_fid_mean"),
    "help": "conditional runs: accuracy of each class's samples under the feature classifier, and intra-class FID",
    "report": (("conditional accuracy", "{accuracy_mean:.4f} (the classifier on real test images: "
                "{classifier_test_accuracy:.4f})"), ("intra-class fid", "{intra_fid_mean:.2f}")),
}]
SCORES = {"accuracy": "per class: share of samples of class c the classifier calls c",
          "accuracy_mean": "its mean", "intra_fid": "per class: FID of class c's samples against class c's "
          "test images", "intra_fid_mean": "its mean", "classes": "the class names",
          "classifier_test_accuracy": "the feature classifier's", "n_samples": "N", "n_test": "test images"}


def run(opts: EvalOptions, run_dir: str | None) -> dict:
    """Per class: the accuracy and intra-class FID of the run's samples (or real images with --real)."""
    job = make_job(opts, run_dir, WITH_TEST_SPLIT)
    players = job.players
    if players is not None and not players.conditional:
        raise MinimaxError(f"{run_dir} is unconditional (condition 'none'); eval conditional needs a "
                           "conditional run (use eval fid)")
    train = load_dataset(job.cfg, "cpu", split="train")
    test = load_dataset(job.cfg, "cpu", split="t10k")
    check_shapes(job, test)
    k = test.n_classes
    per = job.n // k
    if per < 2:
        raise MinimaxError(f"--n {job.n} gives {per} samples per class for {k} classes; need at least 2 each")
    net = classifier.load_or_train(job.cfg.dataset, train.images, train.labels, opts.cache_dir, log=opts.say)
    if players is None:  # --real: real training images, as many of each class as the generator would draw
        pick = torch.cat([torch.nonzero(train.labels == c)[:per, 0] for c in range(k)])
        samples, labels, source = train.pixels()[pick], train.labels[pick], f"{len(pick)} real training images"
    else:
        labels = torch.arange(k).repeat_interleave(per)
        drawn = generate(players, len(labels), seed=job.seed, classes=labels)
        samples = eight_bits(drawn.reshape(len(labels), -1).cpu())
        source = f"{len(labels)} samples of {run_dir} (step {players.step}), {per} per class"
    predicted = classifier.predict(net, samples, test.shape)
    real_f = classifier.features(net, test.pixels(), test.shape)
    fake_f = classifier.features(net, samples, test.shape)
    network = classifier_record(f"minimax {job.cfg.dataset} classifier", net, test)
    accuracy = network["test_accuracy"]
    result = {**conditional_accuracy(predicted, labels, k), **intra_class_fid(real_f, test.labels, fake_f, labels, k),
              "classes": list(test.class_names), "classifier_test_accuracy": accuracy,
              "n_samples": len(samples), "n_test": len(test), "source": source}
    opts.say(f"class  accuracy  intra-class FID   ({source}; {len(test)} test images)")
    for c, name in enumerate(test.class_names):
        opts.say(f"{name:>5}  {result['accuracy'][c]:8.4f}  {result['intra_fid'][c]:15.3f}")
    opts.say(f" mean  {result['accuracy_mean']:8.4f}  {result['intra_fid_mean']:15.3f}   (the feature classifier "
             f"labels real test images with accuracy {accuracy:.4f}: the ceiling)")
    return {**result, "protocol": job.protocol(source, {"split": "test", "size": len(test)}, network)}
