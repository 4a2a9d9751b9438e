"""Topology of a network's partition, exactly: the face lattice of the complex of regions
(:func:`face_lattice`), Betti numbers over GF(2) of the sets a network decides
(:func:`betti_numbers`: ``{f >= t}``, ``{f <= t}``, ``{f = t}``, class regions) and the
persistent homology of the sublevel filtration of an output (:func:`persistence`).
See docs/topology.md.
"""

from .lattice import FaceLattice, TopologyError, build_lattice, face_lattice
from .homology import (DecisionTopology, betti_numbers, decision_topology, gf2_rank,
                       gf2_reduce, subcomplex_betti)
from .persistence import Persistence, lower_star, persistence, snap_values
from .plot import plot_components, plot_diagram

__all__ = ["FaceLattice", "TopologyError", "build_lattice", "face_lattice",
           "DecisionTopology", "betti_numbers", "decision_topology", "gf2_rank", "gf2_reduce",
           "subcomplex_betti", "Persistence", "lower_star", "persistence", "snap_values",
           "plot_components", "plot_diagram"]
