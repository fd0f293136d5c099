"""Registers the built-in SPADE engine through the same hook third-party engines use."""

from regionpaint.markers import hookimpl


@hookimpl
def register_engines(register):
    from engines.spade.engine import SpadeEngine

    register(SpadeEngine)
