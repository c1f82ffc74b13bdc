"""Deprecated: moved to :mod:`minimax.games.theory` in 0.3.0; this alias goes in the next release."""
import warnings

from .games.theory import *  # noqa: F403
from .games.theory import __all__  # noqa: F401

warnings.warn("minimax.theory moved to minimax.games.theory; the old name goes in the next release",
              DeprecationWarning, stacklevel=2)
