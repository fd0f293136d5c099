"""Registers the built-in SPADE engine and its trainer through the hooks third-party plugins use."""

from regionpaint.markers import hookimpl


@hookimpl
def register_engines(register):
    from engines.spade.engine import SpadeEngine

    register(SpadeEngine)


@hookimpl
def register_trainers(register):
    from engines.spade.training import SpadeTrainer

    register(SpadeTrainer)
