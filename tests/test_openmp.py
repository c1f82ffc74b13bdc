"""The OpenMP wait policy minimax chooses before torch loads (minimax/openmp.py; measured in
benchmarks/busy_machine.py)."""
import subprocess
import sys

import pytest

from minimax import openmp


def test_waiting_threads_sleep_on_a_busy_machine_and_spin_on_an_idle_one(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delitem(sys.modules, "torch")  # as in a process that has not loaded torch yet
    monkeypatch.setattr(openmp, "busy_cores", lambda: 0.9)
    assert openmp.choose_wait_policy() == "PASSIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setattr(openmp, "busy_cores", lambda: 0.1)
    assert openmp.choose_wait_policy() is None and "OMP_WAIT_POLICY" not in __import__("os").environ
    monkeypatch.setattr(openmp, "busy_cores", lambda: None)  # no /proc/stat: leave torch's default
    assert openmp.choose_wait_policy() is None


def test_nothing_is_measured_once_torch_is_loaded(monkeypatch):
    """torch's OpenMP runtime has read the policy by then: no 0.1 s measurement, nothing set."""
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setattr(openmp, "busy_cores", lambda: pytest.fail("measured after torch loaded"))
    import torch  # noqa: F401

    assert openmp.choose_wait_policy() is None


def test_a_users_own_policy_is_never_overridden(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setattr(openmp, "busy_cores", lambda: 2.0)
    assert openmp.choose_wait_policy() is None
    import os

    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_the_busy_cores_reading_sees_a_busy_process():
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        import time

        time.sleep(0.3)
        busy = openmp.busy_cores(0.5)
    finally:
        hog.kill()
        hog.wait()
    assert busy is not None and busy >= 0.7  # one spinning process: about one core
