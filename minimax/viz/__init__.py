"""Pictures: the PNG plots of a run (plots.py), the HTML report (report.py) and its replay (replay.py)."""
