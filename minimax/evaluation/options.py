"""What one evaluation is asked for (:class:`EvalOptions`), the same from Python and from ``minimax eval``."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EvalOptions:
    """The options of one metric's evaluation; fields a metric does not use are ignored.

    ``n``: samples to draw (default: the metric's, 10,000 or Stacked MNIST's 26,000); ``seed``: the noise
    seed; ``real``: score real training images instead (no run, or a run for its dataset); ``features``:
    'classifier' (MNIST-style sets) or 'inception' (with ``inception_weights``, never downloaded); ``real_dir``:
    a folder of real images to compare with instead of the test split (fid, kid, pr); ``fake_dir``: score the
    images of this folder instead of a run's samples (no run; with ``real_dir`` as the reference), both read at
    ``image_size`` (default: the side the folder's images share), the record written to ``record`` (default:
    beside the folder, ``<fake_dir>.<metric>.json``); ``subsets``/``subset_size`` (KID; the size None: 1,000, or
    the smaller set's size when that is below, said in the record), ``splits`` (IS), ``every_checkpoint``
    (modes); ``quiet``: print nothing (the command line prints each metric's lines)."""

    metric: str
    data_dir: str | None = None
    n: int | str | None = None
    seed: int | str = 0
    real: bool = False
    dataset: str | None = None
    cache_dir: str | None = None
    features: str | None = None  # default: inception for "is", else classifier
    inception_weights: str | None = None
    real_dir: str | None = None  # fid/kid/pr: a folder of real images as the reference set (Inception features)
    fake_dir: str | None = None  # a folder of images to score instead of a run's samples
    image_size: int | str | None = None  # with fake_dir: the side both folders are read at
    record: str | None = None  # with fake_dir: where the record goes
    subsets: int | str = 100
    subset_size: int | str | None = None  # None: 1,000, or fewer when a set is smaller (stated in the record)
    splits: int | str = 10
    every_checkpoint: bool = False
    quiet: bool = True

    def say(self, line: str) -> None:
        if not self.quiet:
            print(line, flush=True)
