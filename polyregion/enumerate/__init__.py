"""The enumeration engine (see :mod:`polyregion.enumerate.engine`)."""

from .engine import enumerate_regions

__all__ = ["enumerate_regions"]
