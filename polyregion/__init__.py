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
from .enumerate import enumerate_regions, iter_regions
from .errors import (
    BudgetExceededError,
    CheckpointError,
    ExecutorError,
    FileFormatError,
    InvalidDomainError,
    InvalidInputError,
    InvalidNetworkError,
    PolyregionError,
    SolverError,
)
from .network import Activation, MaxPool, Network, conv2d_matrix, load
from .regions import RegionSet, RegionStats
from .sampling import estimate_count, verify
from .certify import Certificate, certify
from .distances import (distance_to_boundary, distance_to_decision_boundary,
                        distance_to_region_boundary)
from .windows import LocalComplexity, local_complexity, window
from .paths import PathRegions, regions_along
from . import bn  # noqa: E402  (after Network: bn imports it)
from . import plot  # noqa: E402  (matplotlib is imported lazily inside)
from . import graph  # noqa: E402  (networkx is imported lazily inside)
from . import topology  # noqa: E402
from .topology import (TopologyError, betti_numbers, decision_topology,  # noqa: E402
                       face_lattice, persistence)


def from_torch(module, batch=None, **kwargs):
    """Convert a PyTorch module to a :class:`Network` (see :func:`polyregion.io.torch.from_torch`).

    Examples
    --------
    >>> import torch, polyregion as pr
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    >>> net = pr.from_torch(model)
    >>> net.widths, net.input_dim
    ([8], 2)
    """
    from .io.torch import from_torch as _from_torch

    return _from_torch(module, batch=batch, **kwargs)


def from_onnx(path, **kwargs):
    """Convert an ONNX model file to a :class:`Network` (see :func:`polyregion.io.onnx.from_onnx`).

    Examples
    --------
    >>> import numpy as np, onnx, polyregion as pr
    >>> from onnx import helper, numpy_helper, TensorProto
    >>> W = numpy_helper.from_array(np.array([[1.0, -1.0], [0.5, 2.0]], np.float32), "W")
    >>> graph = helper.make_graph(
    ...     [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
    ...     "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])], [W])
    >>> model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    >>> pr.from_onnx(model).widths
    [2]
    """
    from .io.onnx import from_onnx as _from_onnx

    return _from_onnx(path, **kwargs)


__version__ = "0.1.0"

__all__ = [
    "Network", "Activation", "MaxPool", "conv2d_matrix", "load", "Box", "Polytope", "Space", "Slice",
    "enumerate_regions", "iter_regions", "RegionSet", "RegionStats", "Tolerances", "config", "errors", "bn",
    "plot", "graph", "from_torch", "from_onnx", "estimate_count", "verify", "certify", "Certificate",
    "distance_to_region_boundary", "distance_to_boundary", "distance_to_decision_boundary",
    "PolyregionError", "InvalidNetworkError", "InvalidDomainError", "InvalidInputError",
    "FileFormatError", "SolverError", "BudgetExceededError", "ExecutorError",
    "CheckpointError", "window", "local_complexity", "LocalComplexity", "regions_along",
    "PathRegions", "topology", "betti_numbers", "decision_topology", "face_lattice",
    "persistence", "TopologyError",
]
