"""The conditions of a lottery-ticket experiment, one registry entry each: the winning ticket and
its controls (Frankle & Carbin 2019, Section 2; sign-preserving reinit: Zhou et al. 2019).

An entry says what a run of the condition starts from at a pruning level (its weights and mask)
and which stored run that needs: the seed's ticket of the level before (its trained weights
give the level's mask) or the seed's dense run. ``lottery`` builds the inputs, ``plan`` reads
the dependency, figures read the label, so adding a control is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from .masks import Mask
from .pruning import PruningRule, prune_random

PREVIOUS_TICKET, DENSE = "previous-ticket", "dense"


class Inputs(Protocol):
    """What a run at level ``round`` may start from (``lottery`` reads each from the store on demand)."""

    round: int
    rates: dict[str, float]  # per-layer rates of the layer-wise rule
    prune_rate: float
    rule: PruningRule  # the experiment's pruning rule
    theta0: dict[str, torch.Tensor]  # the seed's initial weights
    start: dict[str, torch.Tensor]  # θ0, or θk when rewinding
    ticket_mask: Mask  # the seed's ticket of the level before, pruned once more
    dense_final: dict[str, torch.Tensor]  # the seed's dense network, trained

    def fresh(self, tag: str) -> dict[str, torch.Tensor]:
        """New initial values of the same distribution, from a seed derived from ``tag``."""

    def generator(self, tag: str) -> torch.Generator:
        """A random generator seeded from the run's seed, level and ``tag``."""


@dataclass(frozen=True)
class Condition:
    """One condition: its label in tables and legends, what it tests, and how a run of it starts."""

    label: str
    question: str
    starts_from: str  # PREVIOUS_TICKET or DENSE: the stored run its start is built from
    start: Callable[[Inputs], tuple[dict[str, torch.Tensor], Mask]]


def _sign_reinit(inputs: Inputs) -> tuple[dict[str, torch.Tensor], Mask]:
    """Fresh magnitudes with θ0's signs on the pruned layers (Zhou et al., 2019)."""
    mask, fresh, theta0 = inputs.ticket_mask, inputs.fresh("reinit"), inputs.theta0
    return {n: fresh[n].abs() * torch.sign(theta0[n]) if n in mask else fresh[n] for n in fresh}, mask


REGISTRY = {
    "ticket": Condition(
        "winning ticket (reset to θ0)",
        "the pruned network, reset to its initial values",
        PREVIOUS_TICKET,
        lambda inputs: (inputs.start, inputs.ticket_mask),
    ),
    "reinit": Condition(
        "random reinit (same mask, new θ0)",
        "is it the structure? the ticket's mask with fresh initial values",
        PREVIOUS_TICKET,
        lambda inputs: (inputs.fresh("reinit"), inputs.ticket_mask),
    ),
    "random-prune": Condition(
        "random pruning (same layer sizes)",
        "is it the mask? a random mask with the ticket's layer sizes, θ0",
        PREVIOUS_TICKET,
        lambda inputs: (inputs.start, prune_random(inputs.ticket_mask, inputs.generator("random-prune"))),
    ),
    "sign-reinit": Condition(
        "sign-preserving reinit",
        "is it the signs? the ticket's mask, fresh magnitudes with θ0's signs",
        PREVIOUS_TICKET,
        _sign_reinit,
    ),
    "one-shot": Condition(
        "one-shot pruning",
        "is iterating needed? the dense network pruned once to the same layer sizes, θ0",
        DENSE,
        lambda inputs: (
            inputs.start,
            inputs.rule.once(inputs.dense_final, inputs.rates, inputs.prune_rate, inputs.round),
        ),
    ),
}
CONDITIONS = tuple(REGISTRY)
CONTROLS = CONDITIONS[1:]
