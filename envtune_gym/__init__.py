"""envtune-gym: Gymnasium multi-turn tool-use environments on BFCL's domains."""

__version__ = "0.1.0"
