"""A run's data card, ``RUN/data.safetensors`` (:class:`~minimax.data.card.DataCard`): written when training
starts, read whenever the run's generator is used, so that a run of an image dataset samples, exports and
reports without its training images (a run copied to another machine, a folder deleted). A resumed run checks
its data against the card's digest and warns when they differ."""
from __future__ import annotations

import sys
from pathlib import Path

from .. import registry
from ..data.card import DataCard
from ..errors import MinimaxError
from ..files import atomic_write_bytes, read_bytes
from .rundir import DATA_CARD


def read_data_card(run_dir: str | Path) -> DataCard | None:
    """The run's data card; None when the run has none (a run of the toy sets, or trained before 0.5)."""
    path = Path(run_dir) / DATA_CARD
    try:
        raw = read_bytes(path, "the data card")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise MinimaxError(f"cannot read {path}: {e.strerror or e}") from None
    return DataCard.from_bytes(raw, str(path))


def write_data_card(run_dir: Path, cfg, data, resumed: bool) -> None:
    """Write the card of the data the run trains on (image datasets only); on resume, warn first when the data
    differ from those the card describes (the run goes on with the data now there)."""
    if not registry.datasets()[cfg.dataset].images:
        return
    card = DataCard.of(data)
    old = read_data_card(run_dir) if resumed else None
    if old is not None and old.digest != card.digest:
        where = f" in {cfg.data_dir}" if cfg.data_dir else ""
        print(f"minimax: warning: the training data{where} changed since this run last trained ({old.images} "
              f"images then, {card.images} now; SHA-256 {old.digest[:12]} then, {card.digest[:12]} now): "
              "it goes on with the data there now", file=sys.stderr)
    atomic_write_bytes(run_dir / DATA_CARD, card.to_bytes(), inside=run_dir)


def check_moved_data(run_dir: str | Path, data, data_dir: str | Path) -> None:
    """``--resume RUN --data-dir NEW``: the data read from NEW must be those the run trained on, by the SHA-256 its
    data card holds; else a one-line error naming both digests."""
    old = read_data_card(run_dir)
    if old is None:
        raise MinimaxError(f"{run_dir} has no data card to check {data_dir} against (a run trained before 0.5): "
                           "move the data back to the folder its config.json names")
    new = DataCard.of(data)
    if new.digest != old.digest:
        raise MinimaxError(f"the data in {data_dir} are not those {run_dir} trained on (SHA-256 {old.digest[:12]}, "
                           f"{old.images} images, then; {new.digest[:12]}, {new.images} images, in {data_dir})")
