"""regionpaint's public API: the one name plugins and scripts outside this repository import.

    import regionpaint

    @regionpaint.hookimpl
    def register_engines(register):
        register(MyEngine)

Everything here is importable without torch or Qt. The repository keeps its folders (``app/``,
``engines/``, ``plugins/``); this package re-exports the contract from them.
"""

from engines.base import (
    ALL_CAPABILITIES,
    CROSSOVER,
    INSTANCE_FEATURES,
    INSTANCE_MAP,
    LATENT_Z,
    MEAN_STYLE,
    NOISE,
    REGION_STYLES,
    STYLE_INTERPOLATION,
    CheckpointError,
    CheckpointInfo,
    Engine,
    EngineError,
    InputError,
    RenderRequest,
    RenderResult,
    StyleMix,
    StyleSource,
)
from engines.schema import Option, OptionError
from engines.segmenters.base import Segmenter, SegmenterError
from regionpaint.markers import PLUGIN_API_VERSION, PROJECT_NAME, hookimpl, hookspec


def __getattr__(name: str):
    # The app version is read from the installed distribution only when asked for.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(PROJECT_NAME)
        except PackageNotFoundError:
            return "0+unknown"
    raise AttributeError(f"module 'regionpaint' has no attribute {name!r}")


__all__ = [
    "ALL_CAPABILITIES",
    "CROSSOVER",
    "INSTANCE_FEATURES",
    "INSTANCE_MAP",
    "LATENT_Z",
    "MEAN_STYLE",
    "NOISE",
    "Option",
    "OptionError",
    "PLUGIN_API_VERSION",
    "PROJECT_NAME",
    "REGION_STYLES",
    "STYLE_INTERPOLATION",
    "Segmenter",
    "SegmenterError",
    "CheckpointError",
    "CheckpointInfo",
    "Engine",
    "EngineError",
    "InputError",
    "RenderRequest",
    "RenderResult",
    "StyleMix",
    "StyleSource",
    "hookimpl",
    "hookspec",
]
