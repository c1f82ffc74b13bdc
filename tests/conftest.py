"""Every test process computes with one CPU thread (unless OMP_NUM_THREADS is set): the suite runs its tests in
parallel processes (``pytest -n auto``, pytest-xdist), one per core, and two multi-threaded torch processes on
the same cores slow each other many times over (OpenMP threads spin while they wait). One thread also makes
each test's numbers the same whether the suite runs in parallel or not. Set before torch is imported (it reads
the variable once); the commands that tests start inherit it."""
import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(config, items):
    """The slow end-to-end tests first (in file order, then the rest in file order): with ``-n auto`` the
    longest runs start at once on their own workers instead of ending the suite on one worker while the others
    wait."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True, scope="session")
def _no_fsync():
    """No test in this process checks durability against power loss (no test machine loses power), so the runs
    that tests and their module fixtures train here skip ``os.fsync`` (~30 per tiny run, ~25 % of its time). The
    atomic writes under SIGKILL are checked on runs in subprocesses, which keep it (tests/test_checkpoint_resume.py)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "fsync", lambda fd: None)
        yield
