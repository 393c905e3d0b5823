"""Interactive explorers for the notebooks: ipywidgets controls over pure functions.

An ``Explorer`` redraws a Figure with a pure function of ``ticketlab.viz.lesson_figures`` (tests call those
directly) whenever one of its controls changes, and keeps it as ``figure``. Without a live kernel
(a rendered notebook, a slide deck) the controls do nothing, so the notebooks also show a static
figure next to every explorer.
"""

from __future__ import annotations

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..models import build, prunable_names
from ..pruning import counts_after_rounds
from ..viz.lesson_figures import METHOD_STYLE, decision_boundaries_figure, explorer_figure
from .experiments import OneShotPruner, ToyTickets

SLIDER_LAYOUT = widgets.Layout(width="60%")


def level_options(weights: dict, rates: dict[str, float], rounds) -> list[tuple[str, int]]:
    """Slider options for pruning rounds, labelled with the percent of weights each round leaves."""
    sizes = {n: weights[n].numel() for n in prunable_names(weights)}
    total = sum(sizes.values())
    return [(f"{100 * sum(counts_after_rounds(sizes, rates, r).values()) / total:.1f}%", r) for r in rounds]


class Explorer(widgets.VBox):
    """Controls above a figure that ``draw(**values of the controls)`` redraws on every change.

    The figure goes into the Output widget's state directly (``append_display_data``), not through
    ``with output:`` capturing as in ``ipywidgets.interactive``: captured output makes nbclient
    (``jupyter nbconvert --execute``, which has no time limit by default) write back to the kernel
    while it waits for the cell's reply, and that wait can then stall until the time limit.
    """

    def __init__(self, draw, **controls: widgets.ValueWidget):
        self.draw, self.controls, self.output = draw, controls, widgets.Output()
        super().__init__([*controls.values(), self.output])
        for control in controls.values():
            control.observe(self.redraw, names="value")
        self.redraw()

    def redraw(self, change=None) -> None:
        self.figure = self.draw(**{name: control.value for name, control in self.controls.items()})
        self.output.outputs = ()
        self.output.append_display_data(self.figure)


def pruning_explorer(pruner: OneShotPruner, rounds, dense_accuracy: float) -> Explorer:
    """Pruning rule and sparsity → test accuracy without retraining and the first-layer mask."""
    method = widgets.Dropdown(options=[(METHOD_STYLE[m][1], m) for m in pruner.scores], description="rule")
    level = widgets.SelectionSlider(
        options=level_options(pruner.weights, pruner.rates, rounds),
        description="remaining",
        continuous_update=False,
        layout=SLIDER_LAYOUT,
    )
    return Explorer(
        lambda method, round_: explorer_figure(pruner.evaluate(method, round_), dense_accuracy),
        method=method,
        round_=level,
    )


def toy_ticket_explorer(toy: ToyTickets) -> Explorer:
    """Seed and sparsity → decision boundaries of the dense net, the ticket and its random reinit."""
    config = toy.results.config
    weights = dict(build(config.model).named_parameters())
    levels = level_options(weights, config.rates(), range(1, config.rounds + 1))
    seed = widgets.Dropdown(options=list(config.seeds), description="seed")
    level = widgets.SelectionSlider(
        options=levels,
        value=levels[len(levels) // 2][1],
        description="remaining",
        continuous_update=False,
        layout=SLIDER_LAYOUT,
    )

    def draw(seed: int, round_: int) -> Figure:
        title = f"Toy ticket, seed {seed}, pruning round {round_}"
        return decision_boundaries_figure(toy.panels(seed, round_), toy.data, title)

    return Explorer(draw, seed=seed, round_=level)


def round_browser(results, seed: int | None = None) -> Explorer:
    """Seed and pruning round → ``plots.round_overview`` of a lottery experiment's ticket: its
    first-layer mask, θ0 of survivors vs pruned weights, and its test accuracy during training."""
    from .. import analysis
    from ..viz import plots

    tickets = analysis.levels(results.summary, "ticket")
    options = [
        (f"{percent:.1f}%", int(round_)) for round_, percent in zip(tickets["round"], tickets["percent_remaining"])
    ]
    seeds = widgets.Dropdown(
        options=sorted(int(s) for s in set(results.summary["seed"])),
        value=analysis.resolve_seed(results, seed),
        description="seed",
    )
    level = widgets.SelectionSlider(
        options=options,
        value=options[len(options) // 2][1],
        description="remaining",
        continuous_update=False,
        layout=SLIDER_LAYOUT,
    )

    return Explorer(lambda seed, round_: plots.round_overview(results, seed, round_), seed=seeds, round_=level)
