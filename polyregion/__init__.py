"""polyregion: exact linear regions of piecewise-linear neural networks.

>>> import numpy as np, polyregion as pr
>>> rng = np.random.default_rng(0)
>>> net = pr.Network.from_arrays([rng.normal(size=(5, 2)), rng.normal(size=(1, 5))],
...                              [rng.normal(size=5), np.zeros(1)])
>>> rs = pr.enumerate_regions(net, pr.Box.cube(2, radius=10.0))
>>> len(rs) <= 1 + 5 + 10       # Zaslavsky bound for 5 lines in the plane
True
"""

from . import config, errors
from .config import Tolerances
from .domain import Box, Polytope, Slice, Space
from .enumerate import enumerate_regions
from .errors import (
    BudgetExceededError,
    FileFormatError,
    InvalidDomainError,
    InvalidInputError,
    InvalidNetworkError,
    PolyregionError,
    SolverError,
)
from .network import Activation, Network, load
from .regions import RegionSet, RegionStats
from . import bn  # noqa: E402  (after Network: bn imports it)

__version__ = "0.1.0"

__all__ = [
    "Network", "Activation", "load", "Box", "Polytope", "Space", "Slice",
    "enumerate_regions", "RegionSet", "RegionStats", "Tolerances", "config", "errors", "bn",
    "PolyregionError", "InvalidNetworkError", "InvalidDomainError", "InvalidInputError",
    "FileFormatError", "SolverError", "BudgetExceededError",
]
