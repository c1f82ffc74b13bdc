"""What one evaluation is asked for (:class:`EvalOptions`), the same from Python and from ``minimax eval``."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from typing import Any

from .. import registry
from ..errors import MinimaxError


@dataclass
class EvalOptions:
    """The options of one metric's evaluation; fields a metric does not use are ignored.

    ``n``: samples to draw (default: the metric's, 10,000 or Stacked MNIST's 26,000); ``seed``: the noise
    seed; ``real``: score real training images instead (no run, or a run for its dataset); ``features``:
    'classifier' (MNIST-style sets; a folder of 28×28 greyscale digits with ``classifier_data``, MNIST's IDX files,
    which train the classifier) or 'inception' (with ``inception_weights``, never downloaded); ``real_dir``:
    a folder of real images to compare with instead of the test split (fid, kid, pr); ``fake_dir``: score the
    images of this folder instead of a run's samples (no run; with ``real_dir`` as the reference), both read at
    ``image_size`` (default: the side the folder's images share), the record written to ``record`` (default:
    beside the folder, ``<fake_dir>.<metric>.json``); ``quiet``: print nothing (the command line prints each
    metric's lines); ``options``: the metric's own (its declaration's: KID's ``subsets`` and ``subset_size``, IS's
    ``splits``, modes' ``every_checkpoint``), each checked against its declared type and range by :meth:`build`."""

    metric: str
    data_dir: str | None = None
    n: int | str | None = None
    seed: int | str = 0
    real: bool = False
    dataset: str | None = None
    cache_dir: str | None = None
    features: str | None = None  # default: inception for "is", else classifier
    inception_weights: str | None = None
    classifier_data: str | None = None  # MNIST's IDX files: the digit classifier that scores folders of digits
    real_dir: str | None = None  # fid/kid/pr: a folder of real images as the reference set (Inception features)
    fake_dir: str | None = None  # a folder of images to score instead of a run's samples
    image_size: int | str | None = None  # with fake_dir: the side both folders are read at
    record: str | None = None  # with fake_dir: where the record goes
    quiet: bool = True
    options: dict[str, Any] = field(default_factory=dict)  # the metric's own, checked (build)

    @classmethod
    def build(cls, metric: str, text: bool = False, **given) -> "EvalOptions":
        """The options of ``minimax.evaluate(run, METRIC, ...)`` or (``text``: written on a command line) of
        ``minimax eval METRIC``: the common ones and the metric's own, each of these checked against its declaration
        (``subsets`` must be an integer >= 1; from a command line, converted first); an option the metric does not
        have is refused, naming those it has."""
        cls.refuse_unknown(metric, given)
        declared = {o.name: o for o in registry.metrics()[metric].options}
        own = {name: option.convert(given[name], "--" + name.replace("_", "-") if text else name, text=text)
               if name in given else option.default for name, option in declared.items()}
        return cls(metric=metric, options=own, **{k: v for k, v in given.items() if k not in declared})

    @classmethod
    def keywords(cls, metric: str) -> list[str]:
        """Every option an evaluation with ``metric`` takes: the common ones, then the metric's own."""
        return [f.name for f in fields(cls) if f.name not in ("metric", "options")] + \
            [o.name for o in registry.metrics()[metric].options]

    @classmethod
    def refuse_unknown(cls, metric: str, given) -> None:
        """A MinimaxError naming the first of ``given`` that an evaluation with ``metric`` does not take, the one it
        was probably meant to be, and the options it takes."""
        known = cls.keywords(metric)
        unknown = sorted(set(given) - set(known))
        if unknown:
            close = difflib.get_close_matches(unknown[0], known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise MinimaxError(f"evaluate has no option {unknown[0]!r}{hint}; its options: {', '.join(known)}")

    def option(self, name: str) -> Any:
        """The metric's own option ``name`` (its declared default when not given)."""
        return self.options[name] if name in self.options else registry.metrics()[self.metric].option(name).default

    def say(self, line: str) -> None:
        if not self.quiet:
            print(line, flush=True)
