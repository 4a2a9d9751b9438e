"""The enumeration engine (see :mod:`polyregion.enumerate.engine`)."""

from .engine import enumerate_regions
from .scale import iter_regions

__all__ = ["enumerate_regions", "iter_regions"]
