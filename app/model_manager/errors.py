"""The one error type of the model manager: a message for the user, naming the file, the entry and the problem."""

from __future__ import annotations


class ModelError(ValueError):
    """Something about a model the user can act on (a bad file, no reachable source, a licence to accept).

    A ``ValueError``, so the command line prints it as ``regionpaint: error: ...`` and exits 2.
    """


class Cancelled(ModelError):
    """The person stopped a download; what was fetched so far stays for the next attempt to resume."""
