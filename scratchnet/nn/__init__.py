"""scratchnet.nn: a small neural-network library (layers, losses, optimizers, Sequential)."""
from .base import Layer, Parameter
