"""Algorithm 1 and what it runs on: the Trainer (trainer.py), its random streams, the weight average of G, the
per-iteration statistics, optimisers and learning rates, speed (layouts, compile, bf16), data-parallel play
(distributed.py), and the state a checkpoint holds (state.py). It takes a config but never imports its module."""
from .trainer import Trainer

__all__ = ["Trainer"]

