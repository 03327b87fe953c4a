"""Pictures of layered architectures (``LayeredSpace.draw``, used by ``esenas report``)."""

from __future__ import annotations

from typing import Any

import numpy as np


def draw_layered(space: Any, architecture: Any, ax: Any) -> None:
    """Nodes by layer, kept edges as lines (colour = shared weight, ``space.edge_groups``),
    hidden nodes annotated with their op (``space.node_ops``) on the matplotlib ``ax``."""
    import matplotlib.pyplot as plt

    net = space.net
    sizes = net.sizes
    pos = {}
    for layer, size in enumerate(sizes):
        for j in range(size):
            pos[int(net.starts[layer]) + j] = (layer, (j - (size - 1) / 2) / max(sizes))
    mask = space.edge_mask(architecture)
    groups = space.edge_groups(architecture)
    cmap = plt.get_cmap("tab20")
    for e, (src, dst) in enumerate(net.edge_list()):
        if mask[e]:
            (x0, y0), (x1, y1) = pos[int(src)], pos[int(dst)]
            colour = cmap(int(groups[e]) % 20) if groups is not None else "0.35"
            ax.plot([x0, x1], [y0, y1], color=colour, linewidth=0.6, alpha=0.7)
    xs, ys = zip(*pos.values(), strict=True)
    ax.scatter(xs, ys, s=18, color="black", zorder=3)
    ops = space.node_ops([architecture])
    if ops is not None:
        per_node = np.concatenate([layer[0] for layer in ops])
        hidden = [n for n in pos if sizes[0] <= n < int(net.starts[-2])]
        for node, op in zip(hidden, per_node, strict=True):
            ax.annotate(
                space.op_names[int(op)], pos[node], fontsize=6, xytext=(3, 2),
                textcoords="offset points",
            )  # fmt: skip
    ax.set_xticks(range(len(sizes)))
    ax.set_xticklabels(["input", *[f"hidden {i + 1}" for i in range(len(sizes) - 2)], "output"])
    ax.set_yticks([])
