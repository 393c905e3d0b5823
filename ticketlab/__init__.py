"""ticketlab: the Lottery Ticket Hypothesis, runnable on a laptop CPU."""

__version__ = "0.1.0"
