"""Running a training job: set-up (setup.py), the loop (loop.py), its records, health monitor, snapshots,
signals and summary, checkpoints and the run directory, and a trained run loaded for use (trained.py,
sampling.py)."""
