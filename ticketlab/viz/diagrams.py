"""The lecture's drawn figures (Figures 2-7), recreated with matplotlib.

The original talk illustrated its ideas with drawings; the notebooks show these instead, so every
slide of the lecture has a figure that is generated, deterministic and easy to restyle. Each public
function returns a `Figure` titled with the lecture's figure name; nothing here trains a network:
weights in the drawings are seeded random numbers that only decide what looks pruned.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch

from ..errors import ConfigError
from .plots import PALETTE

# the course's palette (seaborn's default), so drawings and plots share their colours
BLUE, ORANGE, GREEN, RED, PURPLE, GREY = (PALETTE[i] for i in (0, 1, 2, 3, 4, 7))
LIGHT_GREY = "#D0D0D0"
TEXT_SIZE = 11
SMALL_TEXT = 10
TITLE_SIZE = 14
FIGSIZE = (10, 4)
THETA_0, THETA_J = r"$\theta_0$", r"$\theta_j$"  # mathtext, so the indices are real subscripts

MAX_UNITS_PER_LAYER = 12  # beyond this the drawn units overlap
MAX_DRAWN_ROUNDS = 8

Edge = tuple[int, int, int]  # (layer, unit in that layer, unit in the next layer)


# ----------------------------------------------------------------------------- validation


def _check_layer_sizes(layer_sizes: Sequence[int], min_layers: int) -> tuple[int, ...]:
    """Return the sizes as a tuple, or raise if they cannot be drawn readably."""
    sizes = tuple(layer_sizes)
    if len(sizes) < min_layers or not all(_is_count(n) and 1 <= n <= MAX_UNITS_PER_LAYER for n in sizes):
        raise ConfigError(
            f"layer_sizes={layer_sizes!r}: need at least {min_layers} layers, each an int in 1..{MAX_UNITS_PER_LAYER}"
        )
    return sizes


def _check_fraction(name: str, value: float, *, include_one: bool) -> None:
    """Raise unless 0 < value < 1 (or <= 1 when include_one)."""
    is_number = isinstance(value, Real) and not isinstance(value, bool)
    if not (is_number and 0 < value and (value <= 1 if include_one else value < 1)):
        interval = "(0, 1]" if include_one else "(0, 1)"
        raise ConfigError(f"{name}={value!r}: must be a number in {interval}")


def _is_count(value) -> bool:
    """True for a plain integer (not a bool)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def _rng(seed: int) -> np.random.Generator:
    """A seeded generator, so the same arguments always draw the same figure."""
    if not _is_count(seed) or seed < 0:
        raise ConfigError(f"seed={seed!r}: must be an int >= 0")
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------- drawing helpers


def _titled_figure(title: str, note: str, figsize=FIGSIZE, **subplot_kw) -> tuple[Figure, object]:
    """A constrained-layout figure with the lecture's figure title and its source note below.

    The Figure is not registered with pyplot, so a notebook shows it once (as the cell's value)
    and it is freed when no longer referenced, however many figures a session makes.
    """
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(**subplot_kw)
    fig.suptitle(title, fontsize=TITLE_SIZE, fontweight="bold")
    fig.supxlabel(note, fontsize=SMALL_TEXT, fontstyle="italic", color="#555555")
    return fig, axes


def _blank(ax, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    """Turn an axes into a drawing canvas with equal units on both axes."""
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")


def _tint(color: str, amount: float) -> tuple[float, float, float]:
    """Mix a colour with white; used for box fills so the text stays readable."""
    rgb = np.array(to_rgb(color))
    return tuple(1 - amount * (1 - rgb))


def _dense_edges(layer_sizes: Sequence[int]) -> list[Edge]:
    """Every connection of a fully connected network, layer by layer."""
    return [
        (layer, i, j)
        for layer, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]))
        for i in range(n_in)
        for j in range(n_out)
    ]


def _node_positions(layer_sizes, origin=(0.0, 0.0), size=(1.0, 1.0)) -> dict:
    """Unit centres {(layer, unit): (x, y)}: layers spread over the width, centred vertically."""
    x0, y0 = origin
    width, height = size
    widest = max(layer_sizes)
    spacing = height / max(widest - 1, 1)
    positions = {}
    for layer, n in enumerate(layer_sizes):
        x = x0 + width * layer / max(len(layer_sizes) - 1, 1)
        top = y0 + height / 2 + spacing * (n - 1) / 2
        for unit in range(n):
            positions[(layer, unit)] = (x, top - spacing * unit)
    return positions


def _draw_edges(
    ax, positions, edges: Sequence[Edge], *, label: str, color=BLUE, widths=1.2, alpha=1.0, linestyle="solid", zorder=1
) -> LineCollection:
    """Draw connections as one labelled LineCollection (tests count its segments)."""
    segments = [(positions[(layer, i)], positions[(layer + 1, j)]) for layer, i, j in edges]
    lines = LineCollection(
        segments,
        colors=color,
        linewidths=widths,
        alpha=alpha,
        linestyles=linestyle,
        label=label,
        zorder=zorder,
        capstyle="round",
    )
    ax.add_collection(lines)
    return lines


def _draw_units(ax, positions, units, *, label: str, color=BLUE, size=160, hollow=False, zorder=3):
    """Draw units as circles; hollow dashed ones stand for units that were removed."""
    points = np.array([positions[u] for u in units]).reshape(-1, 2)
    style = (
        dict(facecolors="white", edgecolors=color, linestyles="--")
        if hollow
        else dict(facecolors=color, edgecolors="white")
    )
    return ax.scatter(points[:, 0], points[:, 1], s=size, linewidths=1.5, label=label, zorder=zorder, **style)


def _label_layers(ax, positions, layer_sizes, y: float) -> None:
    """Name the columns input / hidden / output under a network."""
    last = len(layer_sizes) - 1
    for layer in range(len(layer_sizes)):
        name = "input" if layer == 0 else "output" if layer == last else "hidden"
        ax.text(positions[(layer, 0)][0], y, name, ha="center", va="top", fontsize=SMALL_TEXT, color="#555555")


def _box(ax, center, text="", *, width=2.0, height=1.0, color=BLUE, weight="normal") -> FancyBboxPatch:
    """A rounded, lightly filled box with centred text, returned so arrows can attach to it."""
    x, y = center
    patch = FancyBboxPatch(
        (x - width / 2, y - height / 2),
        width,
        height,
        boxstyle="round,pad=0,rounding_size=0.15",
        facecolor=_tint(color, 0.18),
        edgecolor=color,
        linewidth=1.8,
        zorder=2,
    )
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=TEXT_SIZE, fontweight=weight, zorder=4, linespacing=1.35)
    return patch


def _anchor(item) -> tuple[tuple[float, float], FancyBboxPatch | None]:
    """An arrow end: a box (arrow clipped at its border) or a plain point."""
    if isinstance(item, FancyBboxPatch):
        return (item.get_x() + item.get_width() / 2, item.get_y() + item.get_height() / 2), item
    return tuple(item), None


def _arrow(ax, start, end, *, label=None, rad=0.0, color="#333333", label_offset=(0.0, 0.0)):
    """An arrow between two boxes or points, optionally labelled at its middle."""
    (start_xy, patch_a), (end_xy, patch_b) = _anchor(start), _anchor(end)
    ax.annotate(
        "",
        xy=end_xy,
        xytext=start_xy,
        zorder=3,
        arrowprops=dict(
            arrowstyle="-|>",
            mutation_scale=16,
            lw=1.6,
            color=color,
            patchA=patch_a,
            patchB=patch_b,
            shrinkA=4,
            shrinkB=4,
            connectionstyle=f"arc3,rad={rad}",
        ),
    )
    if label:
        mid_x = (start_xy[0] + end_xy[0]) / 2 + label_offset[0]
        mid_y = (start_xy[1] + end_xy[1]) / 2 + label_offset[1]
        ax.text(
            mid_x,
            mid_y,
            label,
            ha="center",
            va="center",
            fontsize=SMALL_TEXT,
            color=color,
            zorder=4,
            bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none"),
        )


def _magnitude_widths(weights: np.ndarray, thinnest=0.6, thickest=3.0) -> np.ndarray:
    """Line widths proportional to |w|, so small (prunable) weights look thin."""
    magnitude = np.abs(weights)
    return thinnest + (thickest - thinnest) * magnitude / magnitude.max()


def _subset(edges: Sequence[Edge], keep: np.ndarray) -> list[Edge]:
    """The edges whose boolean flag in `keep` is set."""
    return [edge for edge, kept in zip(edges, keep) if kept]


def _legend_handles(ax, only: Sequence[str] | None = None) -> list:
    """Legend entries for an axes' labelled collections (or those named in `only`),
    drawn as clean line / dot samples."""
    handles = []
    for artist in ax.collections:
        label = artist.get_label()
        if only is not None and label not in only:
            continue
        if isinstance(artist, LineCollection):
            handles.append(
                Line2D([], [], color=artist.get_edgecolor()[0], lw=2, linestyle=artist.get_linestyle()[0], label=label)
            )
        else:
            hollow = artist.get_facecolor()[0][:3].tolist() == [1.0, 1.0, 1.0]
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    linestyle="none",
                    markersize=9,
                    markerfacecolor="white" if hollow else artist.get_facecolor()[0],
                    markeredgecolor=artist.get_edgecolor()[0],
                    label=label,
                )
            )
    return handles


# ----------------------------------------------------------------------------- Figure 2


_PRUNED_FRACTION = 0.5  # share of connections removed in the "after" panel of Figure 2


def _prune_for_figure(layer_sizes, edges, weights) -> tuple[np.ndarray, tuple[int, int]]:
    """Keep-flags for the after panel: the weakest hidden unit loses every connection,
    then the smallest remaining |w| go until half of all connections are pruned."""
    hidden = [(layer, unit) for layer in range(1, len(layer_sizes) - 1) for unit in range(layer_sizes[layer])]
    strength = {u: 0.0 for u in hidden}
    for (layer, i, j), w in zip(edges, np.abs(weights)):
        for unit in ((layer, i), (layer + 1, j)):
            if unit in strength:
                strength[unit] += w
    removed_unit = min(hidden, key=strength.get)
    touches_removed = np.array([removed_unit in ((layer, i), (layer + 1, j)) for layer, i, j in edges])
    keep = ~touches_removed
    still_to_prune = round(_PRUNED_FRACTION * len(edges)) - int(touches_removed.sum())
    if still_to_prune > 0:
        candidates = np.flatnonzero(keep)
        order = np.argsort(np.abs(weights[candidates]), kind="stable")
        keep[candidates[order[:still_to_prune]]] = False
    return keep, removed_unit


def network_pruning(layer_sizes: Sequence[int] = (4, 5, 3), seed: int = 0) -> Figure:
    """Pruning removes weak connections and whole units from a trained network (Karnin, 1990)."""
    sizes = _check_layer_sizes(layer_sizes, min_layers=3)
    edges = _dense_edges(sizes)
    weights = _rng(seed).normal(size=len(edges))
    keep, removed_unit = _prune_for_figure(sizes, edges, weights)
    widths = _magnitude_widths(weights)

    fig, (before, after) = _titled_figure(
        "Figure 2. Pruning neural networks",
        "Visualisation based on techniques described by Karnin (1990); line width ~ |weight|",
        ncols=2,
    )
    positions = _node_positions(sizes, size=(2.0, 2.0))
    all_units = list(positions)
    after_title = f"After pruning: {keep.sum()} of {len(edges)} connections kept"
    for ax, panel_title in ((before, "Before: dense, fully connected"), (after, after_title)):
        _blank(ax, (-0.3, 2.3), (-0.45, 2.2))
        ax.set_title(panel_title, fontsize=TEXT_SIZE + 1)
        _label_layers(ax, positions, sizes, y=-0.18)

    _draw_edges(before, positions, edges, label="connections", widths=widths)
    _draw_units(before, positions, all_units, label="units")

    _draw_edges(
        after,
        positions,
        _subset(edges, ~keep),
        label="pruned connections",
        color=GREY,
        widths=1.0,
        alpha=0.6,
        linestyle=(0, (3, 3)),
    )
    _draw_edges(after, positions, _subset(edges, keep), label="kept connections", widths=widths[keep], zorder=2)
    _draw_units(after, positions, [u for u in all_units if u != removed_unit], label="kept units")
    _draw_units(after, positions, [removed_unit], label="removed unit", color=RED, hollow=True)
    after.legend(
        loc="upper left", bbox_to_anchor=(0.98, 1.0), fontsize=SMALL_TEXT, frameon=False, handles=_legend_handles(after)
    )
    return fig


# ----------------------------------------------------------------------------- Figure 3


def backprop_flowchart() -> Figure:
    """Training loops forward pass, loss, backward pass and update while validation loss falls."""
    fig, ax = _titled_figure(
        "Figure 3. Flowchart of neural network training using backpropagation",
        "After Starmer (2020), Neural Networks Pt. 2: Backpropagation Main Ideas",
        figsize=(10, 4.3),
    )
    _blank(ax, (0, 10.55), (0.25, 4.15))
    top, bottom = 3.3, 1.1
    left, second, third, right = 1.15, 3.9, 6.65, 9.4
    box = dict(width=2.1, height=1.3)
    init = _box(ax, (left, top), f"1. Initialise weights\nrandomly: {THETA_0}", color=PURPLE, **box)
    forward = _box(ax, (second, top), "2. Forward pass\ninputs → predictions ŷ", **box)
    loss = _box(ax, (third, top), "3. Compute loss\nL(ŷ, y)", **box)
    backward = _box(ax, (right, top), "4. Backward pass\ngradients ∂L/∂w\n(chain rule)", **box)
    update = _box(ax, (right, bottom), "5. Update weights\nw ← w − η·∂L/∂w\n(optimizer step)", **box)
    evaluate = _box(ax, (third, bottom), "Every N steps:\nmeasure\nvalidation loss", color=ORANGE, **box)
    decide = _box(ax, (second, bottom), "Validation loss\nstill improving?", color=ORANGE, **box)
    trained = _box(
        ax, (left, bottom), "Trained network\n(weights at lowest\nvalidation loss)", color=GREEN, weight="bold", **box
    )
    for start, end in (
        (init, forward),
        (forward, loss),
        (loss, backward),
        (backward, update),
        (update, evaluate),
        (evaluate, decide),
    ):
        _arrow(ax, start, end)
    _arrow(ax, decide, forward, label="yes: next batch", color=BLUE, label_offset=(0.8, 0))
    _arrow(ax, decide, trained, label="no:\nstop", color=GREEN, label_offset=(0, 0.4))
    return fig


# ----------------------------------------------------------------------------- Figure 4


def _ticket_edges(layer_sizes, n_edges: int, rng: np.random.Generator) -> list[Edge]:
    """A sparse subnetwork built from random input-to-output paths, so it is connected."""
    chosen: dict[Edge, None] = {}  # insertion-ordered set
    while len(chosen) < n_edges:
        path = [int(rng.integers(n)) for n in layer_sizes]
        for layer in range(len(layer_sizes) - 1):
            if len(chosen) < n_edges:
                chosen[(layer, path[layer], path[layer + 1])] = None
    return list(chosen)


def sparse_subnetwork(layer_sizes: Sequence[int] = (6, 8, 8, 3), density: float = 0.25, seed: int = 0) -> Figure:
    """A dense, untrained network already contains a sparse subnetwork (a winning ticket)."""
    sizes = _check_layer_sizes(layer_sizes, min_layers=2)
    _check_fraction("density", density, include_one=True)
    edges = _dense_edges(sizes)
    ticket = _ticket_edges(sizes, max(1, round(density * len(edges))), _rng(seed))
    ticket_units = sorted({(layer, i) for layer, i, _ in ticket} | {(layer + 1, j) for layer, _, j in ticket})

    fig, (network_ax, text_ax) = _titled_figure(
        "Figure 4. Sparse network within network",
        "Visualising lottery-ticket ideas (Frankle & Carbin, 2018)",
        ncols=2,
        width_ratios=(1.6, 1),
    )
    positions = _node_positions(sizes, size=(3.0, 2.4))
    _blank(network_ax, (-0.2, 3.2), (-0.45, 2.55))
    _label_layers(network_ax, positions, sizes, y=-0.15)
    _draw_edges(network_ax, positions, edges, label="dense network", color=LIGHT_GREY, widths=0.9)
    _draw_units(network_ax, positions, list(positions), label="units", color=LIGHT_GREY, size=120)
    _draw_edges(network_ax, positions, ticket, label="winning ticket", color=ORANGE, widths=2.4, zorder=2)
    _draw_units(network_ax, positions, ticket_units, label="ticket units", color=ORANGE, size=120, zorder=4)
    text_ax.axis("off")
    text_ax.text(
        0.0, 0.62, "The Lottery Ticket Hypothesis", fontsize=TEXT_SIZE + 1, fontweight="bold", va="bottom", ha="left"
    )
    text_ax.text(
        0.0, 0.58, _hypothesis_text(len(ticket), len(edges)), fontsize=TEXT_SIZE, va="top", ha="left", linespacing=1.5
    )
    text_ax.legend(
        handles=_legend_handles(network_ax, only=("dense network", "winning ticket")),
        loc="upper left",
        fontsize=SMALL_TEXT,
        frameon=False,
    )
    return fig


def _hypothesis_text(ticket_size: int, dense_size: int) -> str:
    """The side note of Figure 4: the hypothesis, with this drawing's numbers."""
    share = 100 * ticket_size / dense_size
    return (
        f"A randomly initialised dense network\n"
        f"({dense_size} weights, not trained yet)\n"
        f"contains a sparse subnetwork\n"
        f"({ticket_size} weights, {share:.0f}%) that, trained\n"
        f"alone from the same initial values,\n"
        f"matches the dense network's accuracy\n"
        f"in at most as many iterations."
    )


# ----------------------------------------------------------------------------- Figure 5


# (centre, depth, width) of each valley of the sketched loss
_VALLEYS = ((1.6, 1.1, 0.55), (4.0, 1.5, 0.6), (6.9, 2.6, 0.7), (9.2, 1.3, 0.5))


def _sketch_loss(x: np.ndarray) -> np.ndarray:
    """A made-up 1-D loss with four valleys of different depth on a gentle bowl."""
    bowl = 3.2 + 0.025 * (x - 5.5) ** 2
    return bowl - sum(depth * np.exp(-((x - c) ** 2) / (2 * w**2)) for c, depth, w in _VALLEYS)


_LIFT = 0.12  # markers and arrows sit this far above the curve so they do not hide it


def _on_curve(x: float) -> tuple[float, float]:
    """A point just above the sketched loss curve at x."""
    return x, float(_sketch_loss(np.array(x))) + _LIFT


def _descend(ax, start: float, stop: float, steps: int, color: str) -> None:
    """Arrows hopping along the curve from start to stop, like steps of gradient descent."""
    # the first hops are the longest, as with a large gradient on a steep slope
    xs = start + (stop - start) * (1 - (1 - np.linspace(0, 1, steps + 1)) ** 1.6)
    points = [_on_curve(x) for x in xs]
    for a, b in zip(points[:-1], points[1:]):
        _arrow(ax, a, b, color=color)


def loss_landscape_sketch() -> Figure:
    """Subnetworks start in many places; a winning ticket starts in a good valley (a sketch)."""
    fig, ax = _titled_figure(
        "Figure 5. Simplified representation of the loss landscape",
        "Simplified 1-D sketch, not measured: real landscapes have millions of dimensions. "
        "After Frankle in Machine Learning Street Talk (2020)",
    )
    x = np.linspace(0, 10.5, 600)
    ax.plot(x, _sketch_loss(x), color="#333333", lw=2.2)
    ax.fill_between(x, _sketch_loss(x), 0, color=_tint(BLUE, 0.12))
    others = np.array([_on_curve(x) for x in (0.45, 2.2, 5.05, 8.1, 10.1)])
    ax.scatter(others[:, 0], others[:, 1], s=60, color=GREY, zorder=4, label="other subnetworks' starting points")

    dense_start, ticket_start = 2.75, 5.65
    _descend(ax, dense_start, 4.0, steps=5, color=BLUE)
    _descend(ax, ticket_start, 6.9, steps=2, color=ORANGE)
    ax.scatter(*_on_curve(dense_start), s=140, color=BLUE, zorder=5, label="dense network's start")
    ax.scatter(*_on_curve(ticket_start), s=260, marker="*", color=ORANGE, zorder=5, label="winning ticket's start")
    _label_point(ax, _on_curve(4.0), "dense network:\nlong way to a fair valley", (3.0, 0.35), BLUE)
    _label_point(
        ax,
        _on_curve(6.9),
        "winning ticket: starts in a good valley,\nreaches a lower loss in fewer steps",
        (8.4, 0.35),
        ORANGE,
    )

    ax.set(xlim=(0, 10.5), ylim=(0, 4.7), xticks=[], yticks=[])
    ax.set_xlabel("weights (one direction through parameter space)", fontsize=TEXT_SIZE)
    ax.set_ylabel("loss", fontsize=TEXT_SIZE)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper center", fontsize=SMALL_TEXT, frameon=False, ncols=3)
    return fig


def _label_point(ax, point, text, text_xy, color) -> None:
    """A callout that names a valley without covering the curve."""
    ax.annotate(
        text,
        xy=point,
        xytext=text_xy,
        ha="center",
        va="center",
        fontsize=SMALL_TEXT,
        color=color,
        arrowprops=dict(arrowstyle="-", color=color, lw=1),
    )


# ----------------------------------------------------------------------------- Figures 6 and 7


_GLYPH_SIZES = (3, 4, 4, 2)


def _glyph(ax, center, edges, keep, *, color, widths, label, size, layer_sizes=_GLYPH_SIZES) -> None:
    """A small network inside a box: surviving edges in colour, pruned ones as faint dots."""
    origin = (center[0] - size[0] / 2, center[1] - size[1] / 2)
    positions = _node_positions(layer_sizes, origin=origin, size=size)
    _draw_edges(
        ax,
        positions,
        _subset(edges, ~keep),
        label=f"{label}: pruned",
        color=GREY,
        widths=0.8,
        alpha=0.45,
        linestyle=(0, (1, 2)),
        zorder=3,
    )
    _draw_edges(
        ax,
        positions,
        _subset(edges, keep),
        label=f"{label}: kept",
        color=color,
        widths=np.broadcast_to(widths, keep.shape)[keep],
        zorder=3,
    )
    _draw_units(ax, positions, list(positions), label=f"{label}: units", color="#444444", size=14, zorder=4)


def ticket_recipe() -> Figure:
    """The four steps that find a winning ticket: initialise, train, prune, reset to θ0, repeat."""
    fig, ax = _titled_figure(
        "Figure 6. Finding a winning lottery ticket in dense networks",
        "Lottery-ticket ideas (Frankle & Carbin, 2018); visual style inspired by Starmer (2020). Line width ~ |weight|",
        figsize=(10, 4.3),
    )
    _blank(ax, (0, 10.55), (-0.05, 3.7))
    rng = _rng(0)
    edges = _dense_edges(_GLYPH_SIZES)
    initial = rng.normal(size=len(edges))
    trained = initial + rng.normal(scale=0.8, size=len(edges))
    everything = np.ones(len(edges), dtype=bool)
    survivors = np.abs(trained) >= np.quantile(np.abs(trained), 0.4)
    steps = (
        ("1. Initialise", f"random weights {THETA_0}", PURPLE, everything, initial),
        ("2. Train", f"j iterations → {THETA_J}", BLUE, everything, trained),
        ("3. Prune", f"p% of survivors with\nsmallest |{THETA_J}| → mask m", RED, survivors, trained),
        ("4. Reset", f"survivors to {THETA_0}:\nsubnetwork m ⊙ {THETA_0}", GREEN, survivors, initial),
    )
    boxes = []
    for index, (title, description, color, keep, weights) in enumerate(steps):
        x, y = 1.25 + 2.68 * index, 2.35
        boxes.append(_box(ax, (x, y), width=2.2, height=2.4, color=color))
        ax.text(x, y + 0.92, title, ha="center", va="center", fontsize=TEXT_SIZE + 1, fontweight="bold")
        ax.text(x, y + 0.4, description, ha="center", va="center", fontsize=SMALL_TEXT, linespacing=1.3)
        _glyph(
            ax,
            (x, y - 0.58),
            edges,
            keep,
            color=color,
            widths=_magnitude_widths(weights, 0.4, 2.6),
            label=f"step {index + 1}",
            size=(1.6, 0.8),
        )
    for start, end, text in zip(boxes, boxes[1:], ("", THETA_J, "m")):
        _arrow(ax, start, end, label=text or None, label_offset=(0, 0.3))
    bottom_of = [(box.get_x() + box.get_width() / 2, box.get_y()) for box in boxes]
    _arrow(
        ax,
        bottom_of[3],
        bottom_of[1],
        rad=-0.23,
        color=GREEN,
        label="repeat from step 2 with mask m (next round)",
        label_offset=(0, -0.85),
    )
    return fig


_ROUNDS_GLYPH_SIZES = (4, 5, 5, 2)


def _nested_masks(layer_sizes, weights: np.ndarray, rate_per_layer: Sequence[float], rounds: int) -> list[np.ndarray]:
    """Keep-flags per round: each round removes round(rate * survivors) smallest |w| in every layer,
    so later masks are subsets of earlier ones, as in iterative magnitude pruning."""
    edges = _dense_edges(layer_sizes)
    layer_of = np.array([layer for layer, _, _ in edges])
    masks = [np.ones(len(edges), dtype=bool)]
    for _ in range(1, rounds):
        keep = masks[-1].copy()
        for layer, rate in enumerate(rate_per_layer):
            survivors = np.flatnonzero(keep & (layer_of == layer))
            n_prune = round(rate * len(survivors))
            order = np.argsort(np.abs(weights[survivors]), kind="stable")
            keep[survivors[order[:n_prune]]] = False
        masks.append(keep)
    return masks


def _percent_remaining(rate: float, round_index: int) -> float:
    """Percent of weights left after `round_index` rounds that each prune `rate` of survivors."""
    return 100 * (1 - rate) ** round_index


def iterative_pruning_rounds(rounds: int = 5, rate: float = 0.2, output_rate: float | None = None) -> Figure:
    """Iterative pruning: each round trains, prunes p% of the survivors and resets them to θ0."""
    if not _is_count(rounds) or not 1 <= rounds <= MAX_DRAWN_ROUNDS:
        raise ConfigError(f"rounds={rounds!r}: must be an int in 1..{MAX_DRAWN_ROUNDS}")
    _check_fraction("rate", rate, include_one=False)
    if output_rate is not None:
        _check_fraction("output_rate", output_rate, include_one=False)
    hidden_rates = [rate] * (len(_ROUNDS_GLYPH_SIZES) - 2)
    layer_rates = hidden_rates + [rate if output_rate is None else output_rate]
    edges = _dense_edges(_ROUNDS_GLYPH_SIZES)
    weights = _rng(0).normal(size=len(edges))
    masks = _nested_masks(_ROUNDS_GLYPH_SIZES, weights, layer_rates, rounds)

    pitch = 2.1
    fig, ax = _titled_figure(
        "Figure 7. Iterative pruning to find winning tickets",
        _rounds_caption(rate, output_rate),
        figsize=(max(FIGSIZE[0], pitch * rounds), FIGSIZE[1]),
    )
    _blank(ax, (0, pitch * rounds), (0.0, 3.3))
    boxes = []
    for r, keep in enumerate(masks):
        x = pitch * (r + 0.5)
        ax.text(x, 3.05, f"Round {r}: train", ha="center", va="center", fontsize=TEXT_SIZE, fontweight="bold")
        boxes.append(_box(ax, (x, 1.85), width=1.45, height=1.7, color=BLUE))
        _glyph(
            ax,
            (x, 1.85),
            edges,
            keep,
            color=BLUE,
            widths=1.3,
            label=f"round {r}",
            size=(1.1, 1.2),
            layer_sizes=_ROUNDS_GLYPH_SIZES,
        )
        ax.text(x, 0.62, _remaining_label(rate, output_rate, r), ha="center", va="top", fontsize=TEXT_SIZE)
    for r, (a, b) in enumerate(zip(boxes, boxes[1:])):
        _arrow(ax, a, b)
        between = pitch * (r + 1)
        ax.text(between, 2.15, f"prune\n{100 * rate:g}%", ha="center", va="bottom", fontsize=SMALL_TEXT, color=RED)
        ax.text(between, 1.55, f"reset\nto {THETA_0}", ha="center", va="top", fontsize=SMALL_TEXT, color=GREEN)
    return fig


def _remaining_label(rate: float, output_rate: float | None, round_index: int) -> str:
    """The text under a round: percent of weights remaining, per layer kind when the output layer
    has its own rate (then the whole network's share lies between the two, as in the course's ladder)."""
    if output_rate is None:
        return f"{_percent_remaining(rate, round_index):.1f}% remaining"
    return (
        f"hidden layers {_percent_remaining(rate, round_index):.1f}%\n"
        f"output layer {_percent_remaining(output_rate, round_index):.1f}%"
    )


def _rounds_caption(rate: float, output_rate: float | None) -> str:
    """How the percentages under the rounds are computed."""
    caption = f"% of weights remaining after r rounds = $100\\cdot(1 - p)^r$ with p = {100 * rate:g}% per round"
    if output_rate is not None:
        caption += f" (output layer: p = {100 * output_rate:g}%)"
    return caption + ". After Frankle & Carbin (2018)"
