"""Figure of docs/topology.md: a 2-D decision region coloured by component, its hole
marked, and the sublevel persistence diagram of the same network.

Run: ``python docs/figures/topology.py`` (writes docs/figures/topology.png).
"""

import os

import numpy as np
from matplotlib.figure import Figure

import polyregion as pr
from polyregion.topology import plot_components, plot_diagram
from polyregion.topology.nets import shapes_net

HERE = os.path.dirname(os.path.abspath(__file__))


def main(path=os.path.join(HERE, "topology.png")):
    # an annulus around a disk, and a second bump: f = sum of relu(shape)
    net = shapes_net(2, [("annulus", (0, 0), 2.0, 3.0), ("diamond", (0, 0), 1.0),
                         ("diamond", (4.0, 2.5), 1.2)])
    rs = pr.enumerate_regions(net, pr.Box([-4.0, -4.0], [6.0, 4.0]))
    top = pr.decision_topology(rs, "above", threshold=0.25)
    P = pr.persistence(rs)
    fig = Figure(figsize=(11, 4.6))
    ax1, ax2 = fig.add_subplot(121), fig.add_subplot(122)
    plot_components(top, ax=ax1)
    ax1.set_title(f"{{f >= 0.25}}: {len(rs)} regions, Betti {top.betti}")
    plot_diagram(P, ax=ax2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return top.betti, [D.tolist() for D in P.diagram()]


if __name__ == "__main__":
    print(main())
