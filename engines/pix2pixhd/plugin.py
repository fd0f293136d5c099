"""Registers the pix2pixHD engine (the engine module imports no torch at import time)."""

from regionpaint.markers import hookimpl


@hookimpl
def register_engines(register):
    from regionpaint.engines.pix2pixhd.engine import Pix2PixHDEngine

    register(Pix2PixHDEngine)


@hookimpl
def register_trainers(register):
    from regionpaint.engines.pix2pixhd.training import Pix2PixHDTrainer

    register(Pix2PixHDTrainer)
