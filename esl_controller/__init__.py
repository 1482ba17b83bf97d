"""esl-controller: shelf labels and in-store signage, driven from one store-side controller."""

__version__ = "0.1.0"
