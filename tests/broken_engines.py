"""Deliberately broken engines, registered by a test plugin: they raise, return the wrong shape or type,
run out of memory, or hang in ``generate()`` or ``load()``. Used by tests/test_fault_containment.py and
tests/test_hang_containment.py (not a test module). At the end, dishonest engines whose results are well formed
but whose declared capability does nothing (tests/test_check_engine_behaviour.py).

In a subprocess the plugin is installed through an entry point naming :data:`PLUGIN`
(``[regionpaint] broken-test-plugin = tests.broken_engines:PLUGIN``; see :func:`install_entry_point`).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from regionpaint.engines.base import LATENT_Z, NOISE, Engine, InputError, RenderResult
from regionpaint.plugins import hookimpl
from regionpaint.plugins.manager import DEFAULT_PLUGINS, PluginManager

PLUGIN_NAME = "broken-test-plugin"
#: Set to let the hanging engines return (a test must not leave a thread behind).
RELEASE_HANG = threading.Event()
#: How long a hang lasts at most when nobody sets RELEASE_HANG; None: forever (the editor subprocesses of
#: tests/test_hang_containment.py, which must exit although the hang never ends).
HANG_SECONDS: float | None = 120


def hang() -> None:
    RELEASE_HANG.wait(HANG_SECONDS)


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


class ExitingEngine(_Broken):
    id = "broken-exit"

    def generate(self, request):
        raise SystemExit("a plugin's generate() called sys.exit")


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
        hang()
        width, height = self._size(request)
        return RenderResult(np.zeros((height, width, 3), np.uint8), None)


class HangingLoadEngine(_Broken):
    """Its checkpoint never finishes loading (a stuck network drive, a deadlock in a plugin's loader)."""

    id = "broken-hang-load"

    def load(self, checkpoint, device="auto"):
        hang()
        self._device = "cpu"

    def generate(self, request):
        width, height = self._size(request)
        return RenderResult(np.zeros((height, width, 3), np.uint8), None)


class BrokenPlugin:
    @hookimpl
    def register_engines(self, register):
        for engine in (
            RaisingEngine,
            ExitingEngine,
            WrongShapeEngine,
            WrongDtypeEngine,
            OutOfMemoryEngine,
            HangingEngine,
            HangingLoadEngine,
        ):
            register(engine)


#: The plugin instance an entry point names.
PLUGIN = BrokenPlugin()


def manager_with_broken_plugin() -> PluginManager:
    """The built-in plugins plus the broken one (no entry points: the test controls what loads)."""
    return PluginManager(DEFAULT_PLUGINS, load_entry_points=False, extra_plugins=[(PLUGIN_NAME, BrokenPlugin())])


def install_entry_point(site: Path) -> Path:
    """Make the broken plugin an installed plugin for a subprocess: a ``*.dist-info`` folder in ``site``
    whose entry point names :data:`PLUGIN`. Put ``site`` and the repository on the child's PYTHONPATH."""
    info = site / "broken_test_plugin-0.1.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-test-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[regionpaint]\n{PLUGIN_NAME} = tests.broken_engines:PLUGIN\n")
    return site


# ---- Dishonest engines: well-formed results, but a declared capability does nothing (tests of check_engine;
# not registered by the plugin above). ----


class _Dishonest(_Broken):
    needs_checkpoint = False

    def generate(self, request):
        """Each class in a fixed grey: the right shape and type whatever the request."""
        label = np.asarray(request.label)
        if label.ndim != 2 or label.size == 0:
            raise InputError(f"the label map must be a non-empty (H, W) array, got {label.shape}")
        for mix in (*request.region_styles.values(), request.default_style or ()):
            for name, _ in mix:
                if name not in request.styles:
                    raise InputError(f"style source {name!r} is not given")
        if request.size is not None:  # nearest neighbour to the asked (W, H)
            width, height = request.size
            label = label[np.arange(height) * label.shape[0] // height][:, np.arange(width) * label.shape[1] // width]
        image = np.repeat(((label.astype(np.int64) * 37) % 256).astype(np.uint8)[:, :, None], 3, axis=2)
        return RenderResult(image, None, info=self._info(request))

    def _info(self, request):
        return {}


class SeedIgnoringEngine(_Dishonest):
    """Declares noise but never draws any: the same image for every seed."""

    id = "dishonest-noise"
    capabilities = frozenset({NOISE})


class ZIgnoringEngine(_Dishonest):
    """Declares latent_z and reports the z it was given, but the image does not depend on it."""

    id = "dishonest-z"
    capabilities = frozenset({LATENT_Z})

    def _info(self, request):
        z = request.z if request.z is not None else np.random.default_rng(request.seed or 0).standard_normal((1, 8))
        return {"z": np.asarray(z, dtype=np.float32)}
