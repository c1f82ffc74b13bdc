"""Deprecated: moved to :mod:`minimax.games.minimax` in 0.3.0; this alias goes in the next release."""
import warnings

from .games.minimax import *  # noqa: F403
from .games.minimax import __all__  # noqa: F401

warnings.warn("minimax.objective moved to minimax.games.minimax; the old name goes in the next release",
              DeprecationWarning, stacklevel=2)
