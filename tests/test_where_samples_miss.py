"""benchmarks/where_samples_miss.py, the measurement behind the grid's shortfalls in --help ("samples between the
modes"), on samples whose answer is known."""
import importlib.util
from pathlib import Path

import numpy as np

_spec = importlib.util.spec_from_file_location(
    "where_samples_miss", Path(__file__).resolve().parent.parent / "benchmarks" / "where_samples_miss.py")
wsm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(wsm)


def test_samples_on_the_centres_miss_nothing():
    assert wsm.where(wsm.CENTRES.copy()) == (0.0, 0.0, 0.0)


def test_samples_halfway_between_modes_lie_one_from_a_centre_inside_the_square():
    between = np.array([[1.0, 0.0], [-3.0, 2.0], [0.0, -1.0], [4.0, 3.0]])
    share, median, inside = wsm.where(np.concatenate([between, wsm.CENTRES[:4]]))
    assert (share, median, inside) == (0.5, 1.0, 1.0)


def test_samples_off_the_data_are_outside_the_square():
    off = np.array([[7.0, 0.0], [0.0, -9.0], [1.0, 0.0]])
    share, median, inside = wsm.where(off)
    assert share == 1.0 and inside == 1 / 3 and median == 3.0
