"""Tests for ticketlab.viz.diagrams: titles, what is drawn (edge counts), layout and clean PNG export."""

import itertools
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.text import Text

from ticketlab.errors import ConfigError
from ticketlab.viz import diagrams

FIGURES = [
    (diagrams.network_pruning, "Figure 2. Pruning neural networks"),
    (diagrams.backprop_flowchart, "Figure 3. Flowchart of neural network training using backpropagation"),
    (diagrams.sparse_subnetwork, "Figure 4. Sparse network within network"),
    (diagrams.loss_landscape_sketch, "Figure 5. Simplified representation of the loss landscape"),
    (diagrams.ticket_recipe, "Figure 6. Finding a winning lottery ticket in dense networks"),
    (diagrams.iterative_pruning_rounds, "Figure 7. Iterative pruning to find winning tickets"),
]
FUNCTIONS = [function for function, _ in FIGURES]
IDS = [function.__name__ for function in FUNCTIONS]


@pytest.fixture
def draw():
    """Call a diagram function and close every figure it made after the test."""
    made = []

    def _draw(function, **kwargs) -> Figure:
        fig = function(**kwargs)
        made.append(fig)
        return fig

    yield _draw
    for fig in made:
        plt.close(fig)


def _collection(fig: Figure, label: str, kind=LineCollection):
    """The one collection of the given kind and label anywhere in the figure."""
    found = [c for ax in fig.axes for c in ax.collections if isinstance(c, kind) and c.get_label() == label]
    assert len(found) == 1, f"expected one {kind.__name__} labelled {label!r}, found {len(found)}"
    return found[0]


def _segments(fig: Figure, label: str) -> set[tuple[float, ...]]:
    """The drawn edges of a labelled LineCollection as a set of rounded (x0, y0, x1, y1)."""
    segments = _collection(fig, label).get_segments()
    as_tuples = {tuple(np.round(np.ravel(s), 6)) for s in segments}
    assert len(as_tuples) == len(segments), "an edge was drawn twice"
    return as_tuples


def _texts(fig: Figure) -> list[Text]:
    """Every drawn, non-empty text artist (titles, labels, box texts, legends); tick labels of
    axes switched off are not drawn, so they are left out."""
    hidden = {id(t) for ax in fig.axes if not ax.axison for axis in (ax.xaxis, ax.yaxis) for t in axis.findobj(Text)}
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and id(t) not in hidden]


def _all_text(fig: Figure) -> str:
    return "\n".join(t.get_text() for t in _texts(fig))


# ----------------------------------------------------------------------------- every figure


@pytest.mark.parametrize(("function", "title"), FIGURES, ids=IDS)
def test_figure_is_titled_with_the_lecture_figure_name(draw, function, title):
    fig = draw(function)
    assert isinstance(fig, Figure)
    assert fig.get_suptitle() == title


@pytest.mark.parametrize("function", FUNCTIONS, ids=IDS)
def test_docstring_is_one_line(function):
    assert function.__doc__ and "\n" not in function.__doc__.strip()


@pytest.mark.parametrize("function", FUNCTIONS, ids=IDS)
def test_text_is_at_least_10_points(draw, function):
    fig = draw(function)
    small = [(t.get_text(), t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < 10]
    assert small == []


@pytest.mark.parametrize("function", FUNCTIONS, ids=IDS)
def test_text_is_inside_the_figure_and_does_not_overlap(draw, function):
    fig = draw(function)
    fig.draw_without_rendering()  # runs the constrained layout, so extents are final
    boxes = [(t.get_text(), t.get_window_extent()) for t in _texts(fig)]
    outside = [
        text
        for text, box in boxes
        if box.x0 < -1 or box.y0 < -1 or box.x1 > fig.bbox.x1 + 1 or box.y1 > fig.bbox.y1 + 1
    ]
    assert outside == []
    overlapping = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]
    assert overlapping == []


@pytest.mark.parametrize("function", FUNCTIONS, ids=IDS)
def test_figure_saves_to_png_without_warnings(function, tmp_path):
    path = tmp_path / f"{function.__name__}.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = function()
        fig.savefig(path, dpi=80)
    plt.close(fig)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000  # a drawing, not an empty canvas


@pytest.mark.parametrize(
    "function", [diagrams.network_pruning, diagrams.sparse_subnetwork], ids=["network_pruning", "sparse_subnetwork"]
)
def test_same_seed_draws_the_same_figure_and_another_seed_does_not(draw, function):
    label = "kept connections" if function is diagrams.network_pruning else "winning ticket"
    first, again, other = (_segments(draw(function, seed=s), label) for s in (0, 0, 1))
    assert first == again
    assert first != other


# ----------------------------------------------------------------------------- Figure 2


@pytest.mark.parametrize("layer_sizes", [(4, 5, 3), (3, 6, 6, 2)])
def test_pruning_figure_removes_connections_and_one_whole_unit(draw, layer_sizes):
    fig = draw(diagrams.network_pruning, layer_sizes=layer_sizes)
    dense = sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
    before = _segments(fig, "connections")
    kept, pruned = _segments(fig, "kept connections"), _segments(fig, "pruned connections")
    assert len(before) == dense
    assert 0 < len(kept) < dense
    assert kept | pruned == before and not kept & pruned

    (removed,) = _collection(fig, "removed unit", PathCollection).get_offsets()

    def touches(segment):
        return np.allclose(segment[:2], removed) or np.allclose(segment[2:], removed)

    assert not any(touches(s) for s in kept)
    assert sum(touches(s) for s in pruned) > 0


# ----------------------------------------------------------------------------- Figure 3


def test_flowchart_names_every_step_and_draws_the_loop(draw):
    fig = draw(diagrams.backprop_flowchart)
    text = _all_text(fig)
    for step in (
        "Initialise weights",
        "Forward pass",
        "Compute loss",
        "Backward pass",
        "Update weights",
        "validation loss",
        "Trained network",
    ):
        assert step in text
    arrows = [t for t in fig.axes[0].texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 8  # six steps in a row, the loop back, and the exit


# ----------------------------------------------------------------------------- Figure 4


@pytest.mark.parametrize("density", [0.05, 0.25, 0.5, 1.0])
def test_sparse_subnetwork_highlights_density_times_the_dense_edges(draw, density):
    layer_sizes = (6, 8, 8, 3)
    fig = draw(diagrams.sparse_subnetwork, layer_sizes=layer_sizes, density=density)
    dense, ticket = _segments(fig, "dense network"), _segments(fig, "winning ticket")
    assert len(dense) == 6 * 8 + 8 * 8 + 8 * 3
    assert abs(len(ticket) - round(density * len(dense))) <= 1
    assert ticket <= dense


# ----------------------------------------------------------------------------- Figure 5


def test_loss_landscape_says_it_is_a_sketch_and_marks_both_starts(draw):
    fig = draw(diagrams.loss_landscape_sketch)
    text = _all_text(fig)
    assert "Simplified" in text
    assert "dense network's start" in text and "winning ticket's start" in text


# ----------------------------------------------------------------------------- Figure 6


def test_recipe_prunes_in_step_3_and_keeps_the_same_survivors_in_step_4(draw):
    fig = draw(diagrams.ticket_recipe)
    kept = {step: len(_segments(fig, f"step {step}: kept")) for step in (1, 2, 3, 4)}
    pruned = {step: len(_segments(fig, f"step {step}: pruned")) for step in (1, 2, 3, 4)}
    assert kept[1] == kept[2] and pruned[1] == pruned[2] == 0
    assert 0 < kept[3] < kept[2]
    assert kept[4] == kept[3] and pruned[4] == pruned[3] == kept[2] - kept[3]
    text = _all_text(fig)
    assert all(word in text for word in ("Initialise", "Train", "Prune", "Reset", "repeat"))


# ----------------------------------------------------------------------------- Figure 7


def test_rounds_are_labelled_with_percent_remaining(draw):
    fig = draw(diagrams.iterative_pruning_rounds, rounds=5, rate=0.2)
    text = _all_text(fig)
    for percent in ("100.0", "80.0", "64.0", "51.2", "41.0"):
        assert f"{percent}% remaining" in text
    assert "32.8% remaining" not in text  # only five rounds drawn
    assert "output layer" not in text


def test_rounds_with_an_output_rate_are_labelled_per_layer_kind(draw):
    """The course's ladder quotes the whole network (51.3% after 3 rounds); the figure must not print
    a different 'remaining' figure for it: it labels hidden and output layers separately."""
    text = _all_text(draw(diagrams.iterative_pruning_rounds, rounds=5, rate=0.2, output_rate=0.1))
    assert "hidden layers 51.2%\noutput layer 72.9%" in text
    assert "% remaining" not in text


def test_rounds_drawings_shrink_and_each_mask_lies_inside_the_previous(draw):
    fig = draw(diagrams.iterative_pruning_rounds, rounds=6, rate=0.3)
    kept = [len(_segments(fig, f"round {r}: kept")) for r in range(6)]
    pruned = [len(_segments(fig, f"round {r}: pruned")) for r in range(6)]
    assert kept[0] == 4 * 5 + 5 * 5 + 5 * 2 and pruned[0] == 0
    assert all(later < earlier for earlier, later in zip(kept, kept[1:]))
    assert all(k + p == kept[0] for k, p in zip(kept, pruned))


def test_rounds_show_the_output_layer_rate_when_it_differs(draw):
    fig = draw(diagrams.iterative_pruning_rounds, rounds=3, rate=0.2, output_rate=0.1)
    text = _all_text(fig)
    assert "output layer 90.0%" in text and "output layer 81.0%" in text


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("function", "kwargs", "named"),
    [
        (diagrams.network_pruning, {"layer_sizes": (4, 3)}, "layer_sizes"),
        (diagrams.network_pruning, {"layer_sizes": (4, 0, 3)}, "layer_sizes"),
        (diagrams.network_pruning, {"layer_sizes": (4, 13, 3)}, "layer_sizes"),
        (diagrams.network_pruning, {"seed": -1}, "seed"),
        (diagrams.sparse_subnetwork, {"density": 0}, "density"),
        (diagrams.sparse_subnetwork, {"density": 1.5}, "density"),
        (diagrams.sparse_subnetwork, {"layer_sizes": (5,)}, "layer_sizes"),
        (diagrams.iterative_pruning_rounds, {"rounds": 0}, "rounds"),
        (diagrams.iterative_pruning_rounds, {"rounds": 9}, "rounds"),
        (diagrams.iterative_pruning_rounds, {"rounds": 2.5}, "rounds"),
        (diagrams.iterative_pruning_rounds, {"rate": 1.0}, "rate"),
        (diagrams.iterative_pruning_rounds, {"output_rate": 0}, "output_rate"),
    ],
)
def test_bad_arguments_raise_a_one_line_config_error(function, kwargs, named):
    with pytest.raises(ConfigError, match=named) as error:
        function(**kwargs)
    assert "\n" not in str(error.value)
