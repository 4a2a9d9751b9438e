"""The region adjacency complex: facets, neighbours, graph, linear regions, decision boundary.

What it computes
----------------
For every region ``P`` of a :class:`~polyregion.RegionSet`, its irredundant facets: the
rows ``a . x <= b`` of ``P`` whose hyperplane meets ``P`` in a ``(d-1)``-dimensional face
(a ball of radius ``> tol`` inside the hyperplane), each labelled by the neuron(s)
``(layer, unit, breakpoint)`` carrying it or by the domain facet (``layer = -1``), with a
point in its relative interior (the Chebyshev centre of the facet inside its hyperplane)
and the region across it. From these, :func:`adjacency` builds a :class:`networkx.Graph`
with one node per region and one edge per pair of regions sharing a ``(d-1)``-face;
regions that touch only in a lower-dimensional face are not adjacent.

Method
------
Facets come from Numba kernels (:mod:`._kernels_walk`, :mod:`._kernels_region`). On bounded
2-D and 3-D domains one walk down the trie of the sorted codes
(:func:`._kernels_walk.walk_facets`) carries the domain
polygon/polytope, cut by each neuron's row where the codes below it take both sides, with
the pre-activation maps shared by every region below a trie node (as in the planar
enumeration); a leaf is one region and its polytope, whose faces are its facets (2-D: the
edge's midpoint and half-length; 3-D: the face's inscribed circle). A row that comes
within ``dup_tol`` of a cell without cutting it cleanly, a thin face, or a code range the
geometry contradicts sends the regions concerned to the per-region kernel
(:func:`._kernels_region.region_facets`), which decides by the same
rule: the domain polygon/polytope is clipped by the region's rows (nearest first), each
face's Chebyshev ball inside its plane is verified against every row, rows whose plane
stays farther than ``dup_tol`` from the clipped polytope are redundant, and only doubtful
rows (faces failing the check, rows touching the polytope) get an LP. In other dimensions
rows are visited nearest first; a row whose hyperplane misses an outer box of the working
set is dropped; the others get a Chebyshev LP inside their hyperplane, completed by
constraint generation so that it is exact for all rows. The region across a facet is
found without any all-pairs comparison: in a continuous piecewise-linear network, every
pre-activation on the far side differs from its expression on ``P`` by a multiple of the
facet's hyperplane function, so the far region shares the whole facet with ``P`` and its
code is ``P``'s code with the neurons carrying the facet moved to their adjacent piece;
the code is found by binary search in the sorted codes (the walk: by a Zobrist hash of
the codes). Each match is then checked against the neighbour's own facets (same
hyperplane, holding the facet's centre, covering the facet). Facets that fail a check
(codes that are not regions, e.g. thin slivers dropped by the enumeration tolerance, or
pieces covered by several neighbours) go to :func:`split_facet`: locate the region across
the facet's centre, take the piece it shares, split the rest of the facet by that
neighbour's constraints and repeat on each remaining piece.

Cost: 2-D and 3-D, about one polygon/polytope cut per region and a cheap test per (trie
node, neuron) -- the planar enumeration's own work -- then one hash look-up per facet;
other dimensions, per region ``2 d`` small LPs for the box and one small LP per candidate
facet, then one binary search per facet: near-linear in regions x facets. The networkx
graph is filled in bulk; :func:`edge_list` gives the same graph as arrays.

Coordinates are the RegionSet's enumeration coordinates (``t`` for a Slice).


Layout
------
- :mod:`.complex`: :func:`complex_of` (facets and neighbours of every region, cached on the
  RegionSet), :func:`split_facet`.
- :mod:`.adjacency`: :func:`facets`, :func:`vertices`, :func:`adjacency`, :func:`edge_list`,
  :func:`linear_regions`, :func:`decision_regions`.
- :mod:`.io`: GraphML and ``.npz`` edge lists.
- Numba kernels: :mod:`._kernels_codes` (layer maps, the code across a facet, code
  look-up), :mod:`._kernels_poly` (2-D/3-D polytopes, Chebyshev balls inside a
  hyperplane), :mod:`._kernels_region` (one region's facets, neighbour checks),
  :mod:`._kernels_walk` (all facets by one walk of the code trie).
- :mod:`._max`: the complex of a max-pooling / maxout network, contracted from that of its
  tournament expansion.

The graph reads the engine's flattened network and its LP core; nothing in
:mod:`polyregion.enumerate` imports the graph.
"""

from __future__ import annotations

from ..config import DUPLICATE, ON_PLANE
from .adjacency import (
    DecisionBoundary, EdgeList, LinearRegions, adjacency, decision_regions, edge_list, facets,
    linear_regions, vertices,
)
from .complex import Complex, Facets, complex_of, split_facet
from .io import load_edges, read_graphml, save_edges, write_graphml

__all__ = [
    "Complex", "Facets", "LinearRegions", "DecisionBoundary", "EdgeList", "complex_of",
    "adjacency", "edge_list",
    "facets", "vertices", "linear_regions", "decision_regions", "split_facet",
    "write_graphml", "read_graphml", "save_edges", "load_edges",
]
