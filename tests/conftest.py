"""Shared test set-up: draw figures off-screen so tests run on machines without a display."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
