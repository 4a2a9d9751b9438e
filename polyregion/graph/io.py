"""Region adjacency graphs on disk: GraphML (JSON-encoded arrays) and ``.npz`` edge lists.
"""

from __future__ import annotations

import json

import numpy as np


from ..errors import FileFormatError, InvalidInputError

# --------------------------------------------------------------------------- export
_NODE_JSON = ("code", "point")


_EDGE_JSON = ("neurons", "hyperplane", "point")


def _jsonable(key, v):
    if key == "hyperplane":
        a, b = v
        return json.dumps([np.asarray(a, float).tolist(), float(b)])
    if key == "neurons":
        return json.dumps([list(map(int, t)) for t in v])
    return json.dumps(np.asarray(v).tolist())


def write_graphml(G, path):
    """Write an adjacency graph to GraphML; arrays and tuples become JSON strings.

    Examples
    --------
    >>> import numpy as np, polyregion as pr, tempfile, os
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> G = pr.enumerate_regions(net, pr.Box.cube(2)).adjacency()
    >>> p = os.path.join(tempfile.mkdtemp(), "g.graphml")
    >>> pr.graph.write_graphml(G, p)
    >>> H = pr.graph.read_graphml(p)
    >>> sorted(H.edges()) == sorted(G.edges()), H.edges[1, 3]["neurons"]
    (True, ((0, 0, 0),))
    """
    import networkx as nx

    H = nx.Graph()
    H.graph["dim"] = int(G.graph.get("dim", 0))
    H.graph["stats"] = json.dumps(G.graph.get("stats", {}))
    for n, d in G.nodes(data=True):
        H.add_node(n, **{k: (_jsonable(k, v) if k in _NODE_JSON else v) for k, v in d.items()})
    for u, v, d in G.edges(data=True):
        H.add_edge(u, v, **{k: (_jsonable(k, x) if k in _EDGE_JSON else x) for k, x in d.items()})
    nx.write_graphml(H, path)


def read_graphml(path):
    """Read a graph written by :func:`write_graphml`, restoring arrays and tuples.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "graph.graphml")
    >>> pr.graph.write_graphml(rs.adjacency(), path)
    >>> G = pr.graph.read_graphml(path)
    >>> sorted(G.edges()), G.edges[1, 3]["neurons"], G.nodes[3]["code"].tolist()
    ([(0, 1), (0, 2), (1, 3), (2, 3)], ((0, 0, 0),), [1, 1])
    """
    import networkx as nx

    try:
        H = nx.read_graphml(path, node_type=int)
    except Exception as exc:
        raise FileFormatError(f"{path!r} is not a readable GraphML file: {exc}") from None
    G = nx.Graph()
    G.graph["dim"] = int(H.graph.get("dim", 0))
    G.graph["stats"] = json.loads(H.graph.get("stats", "{}"))
    for n, d in H.nodes(data=True):
        G.add_node(n, index=int(d.get("index", n)),
                   code=np.array(json.loads(d["code"]), np.uint8),
                   point=np.array(json.loads(d["point"]), float))
    for u, v, d in H.edges(data=True):
        a, b = json.loads(d["hyperplane"])
        G.add_edge(u, v, neurons=tuple(tuple(t) for t in json.loads(d["neurons"])),
                   hyperplane=(np.array(a, float), float(b)),
                   point=np.array(json.loads(d["point"]), float), radius=float(d["radius"]))
    return G


def save_edges(G, path):
    """Save an adjacency graph as an npz edge list (no pickles).

    Arrays: ``codes``, ``points`` (nodes); ``u``, ``v``, ``a``, ``b``, ``point``,
    ``radius``, ``neuron_ptr``, ``neurons`` (edges).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "edges.npz")
    >>> pr.graph.save_edges(rs.adjacency(), path)
    >>> sorted(np.load(path).files)[:4], np.load(path)["u"].tolist()
    (['a', 'b', 'codes', 'dim'], [0, 0, 1, 2])
    """
    nodes = sorted(G.nodes())
    if nodes != list(range(len(nodes))):
        raise InvalidInputError("`G` must have nodes 0..n-1 (an adjacency graph).")
    d = int(G.graph.get("dim", 0))
    E = sorted((min(u, v), max(u, v)) for u, v in G.edges())
    att = [G.edges[e] for e in E]
    nptr = np.concatenate([[0], np.cumsum([len(x["neurons"]) for x in att])]).astype(np.int64)
    neurons = np.array([t for x in att for t in x["neurons"]], np.int64).reshape(-1, 3)
    np.savez_compressed(
        path, format=np.array("polyregion-edges-1"), dim=np.array(d),
        codes=np.array([G.nodes[i]["code"] for i in nodes], np.uint8).reshape(len(nodes), -1),
        points=np.array([G.nodes[i]["point"] for i in nodes], float).reshape(len(nodes), -1),
        u=np.array([e[0] for e in E], np.int64), v=np.array([e[1] for e in E], np.int64),
        a=np.array([x["hyperplane"][0] for x in att], float).reshape(len(E), -1),
        b=np.array([x["hyperplane"][1] for x in att], float),
        point=np.array([x["point"] for x in att], float).reshape(len(E), -1),
        radius=np.array([x["radius"] for x in att], float), neuron_ptr=nptr, neurons=neurons,
        stats=np.array(json.dumps(G.graph.get("stats", {}))))


def load_edges(path):
    """Read an npz edge list written by :func:`save_edges` back into a graph.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "edges.npz")
    >>> pr.graph.save_edges(rs.adjacency(), path)
    >>> G = pr.graph.load_edges(path)
    >>> G.number_of_nodes(), sorted(G.edges()), G.edges[1, 3]["neurons"]
    (4, [(0, 1), (0, 2), (1, 3), (2, 3)], ((0, 0, 0),))
    """
    import networkx as nx

    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:
        raise FileFormatError(f"{path!r} is not a readable npz file: {exc}") from None
    if str(data.get("format", "")) != "polyregion-edges-1":
        raise FileFormatError(f"{path!r} is not a polyregion edge list (format "
                              f"'polyregion-edges-1').")
    G = nx.Graph()
    G.graph["dim"] = int(data["dim"])
    G.graph["stats"] = json.loads(str(data["stats"]))
    for i in range(len(data["codes"])):
        G.add_node(i, index=i, code=data["codes"][i], point=data["points"][i])
    p = data["neuron_ptr"]
    for e in range(len(data["u"])):
        G.add_edge(int(data["u"][e]), int(data["v"][e]),
                   neurons=tuple(tuple(int(x) for x in t) for t in data["neurons"][p[e]:p[e + 1]]),
                   hyperplane=(data["a"][e], float(data["b"][e])), point=data["point"][e],
                   radius=float(data["radius"][e]))
    return G

