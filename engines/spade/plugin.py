"""Registers the built-in SPADE engine and its trainer through the hooks third-party plugins use."""

from regionpaint.markers import hookimpl


@hookimpl
def register_engines(register):
    from regionpaint.engines.spade.engine import SpadeEngine

    register(SpadeEngine)


@hookimpl
def register_trainers(register):
    from regionpaint.engines.spade.training import SpadeTrainer

    register(SpadeTrainer)
