"""Registers the SEAN engine with the plugin manager (the engine module stays torch-free)."""

from regionpaint.markers import hookimpl


@hookimpl
def register_engines(register):
    from regionpaint.engines.sean.engine import SeanEngine

    register(SeanEngine)


@hookimpl
def register_trainers(register):
    from regionpaint.engines.sean.training import SeanTrainer

    register(SeanTrainer)
