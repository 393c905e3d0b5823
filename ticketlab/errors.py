"""Exceptions that carry a one-line message a user can act on.

Every public entry point raises one of these for bad input instead of letting an error
surface from deep inside torch; the CLI prints the message and exits with status 2.
"""


class TicketlabError(Exception):
    """Base class: the message is one line that says what was wrong and how to fix it."""


class ConfigError(TicketlabError, ValueError):
    """An argument or configuration value is out of range or unknown."""


class DataError(TicketlabError):
    """A data set file is missing, corrupted, or cannot be downloaded."""


class StoreError(TicketlabError):
    """A results folder cannot be used (not a directory, not writable, ...)."""
