"""Deliberately broken engines, registered by a test plugin: they raise, return the wrong shape or type,
run out of memory, or hang. Used by tests/test_fault_containment.py (not a test module)."""

from __future__ import annotations

import threading

import numpy as np

from engines.base import Engine, RenderResult
from plugins import hookimpl
from plugins.manager import DEFAULT_PLUGINS, PluginManager

PLUGIN_NAME = "broken-test-plugin"
#: Set to let the hanging engine return (a test must not leave a thread behind).
RELEASE_HANG = threading.Event()


class _Broken(Engine):
    display_name = "Broken"
    capabilities = frozenset()
    label_sets = ("celebamask-hq", "cityscapes")

    @classmethod
    def recognizes(cls, info):
        return False

    def load(self, checkpoint, device="auto"):
        self._device = "cpu"

    def _size(self, request):
        height, width = request.label.shape
        return width, height

    def network_size(self, label_shape):
        return label_shape[1], label_shape[0]


class RaisingEngine(_Broken):
    id = "broken-raise"

    def generate(self, request):
        raise ZeroDivisionError("division by zero deep inside the network")


class WrongShapeEngine(_Broken):
    id = "broken-shape"

    def generate(self, request):
        width, height = self._size(request)
        return RenderResult(np.zeros((height, width), np.uint8), None)


class WrongDtypeEngine(_Broken):
    id = "broken-dtype"

    def generate(self, request):
        width, height = self._size(request)
        return RenderResult(np.zeros((height, width, 3), np.float32), None)


class OutOfMemoryEngine(_Broken):
    id = "broken-oom"

    def generate(self, request):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: not enough memory")


class HangingEngine(_Broken):
    id = "broken-hang"

    def generate(self, request):
        RELEASE_HANG.wait(120)
        width, height = self._size(request)
        return RenderResult(np.zeros((height, width, 3), np.uint8), None)


class BrokenPlugin:
    @hookimpl
    def register_engines(self, register):
        for engine in (RaisingEngine, WrongShapeEngine, WrongDtypeEngine, OutOfMemoryEngine, HangingEngine):
            register(engine)


def manager_with_broken_plugin() -> PluginManager:
    """The built-in plugins plus the broken one (no entry points: the test controls what loads)."""
    return PluginManager(DEFAULT_PLUGINS, load_entry_points=False, extra_plugins=[(PLUGIN_NAME, BrokenPlugin())])
