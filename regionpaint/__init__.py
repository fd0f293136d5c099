"""regionpaint's public API: the one name plugins and scripts outside this repository import.

    import regionpaint

    @regionpaint.hookimpl
    def register_engines(register):
        register(MyEngine)

Everything here is importable without torch or Qt. The application lives in subpackages:
``regionpaint.app`` (editor, document model, render service, CLI), ``regionpaint.engines`` (the engine contract
and the built-in engines), ``regionpaint.plugins`` (hooks and the plugin manager) and ``regionpaint.assets``
(the demo); this module re-exports the plugin contract from them.
"""

import importlib
from pathlib import Path as _Path

# In a source checkout the rooms sit beside this folder (app/, engines/, plugins/, assets/ at the repository's
# top, as its users asked); an installed wheel has them inside it. Adding the checkout's root to this package's
# path makes ``regionpaint.app`` the checkout's ``app/`` without an install step (tests, ``python -m``).
_CHECKOUT = _Path(__file__).resolve().parent.parent
if not (_Path(__file__).parent / "app").is_dir() and (_CHECKOUT / "app" / "cli.py").is_file():
    __path__.append(str(_CHECKOUT))

# Public name -> the module that defines it. Resolved on first use (PEP 562), so importing a submodule
# such as ``regionpaint.types`` or ``regionpaint.markers`` loads nothing else.
_EXPORTS = {
    **{
        name: "regionpaint.engines.base"
        for name in (
            "ALL_CAPABILITIES",
            "CROSSOVER",
            "INSTANCE_FEATURES",
            "INSTANCE_MAP",
            "LATENT_Z",
            "MEAN_STYLE",
            "NOISE",
            "REGION_STYLES",
            "STYLE_INTERPOLATION",
            "MEAN_STYLE_SOURCE",
            "RANDOM_STYLE_SOURCE",
            "CheckpointError",
            "CheckpointInfo",
            "Engine",
            "EngineError",
            "InputError",
            "RenderRequest",
            "RenderResult",
            "StyleSource",
        )
    },
    # Reading the files of a checkpoint in an engine's own layout with the host's checks (Engine.locate).
    "read_checkpoint_json": "regionpaint.engines.loading.readers",
    "read_state_dict": "regionpaint.engines.loading.readers",
    "StyleMix": "regionpaint.types",
    "ENGINE_STYLE_PREFIX": "regionpaint.types",
    "LabelSet": "regionpaint.app.model.labelsets",  # what register_label_sets takes (torch- and Qt-free)
    "Option": "regionpaint.engines.schema",
    "Segmenter": "regionpaint.engines.segmenters.base",
    "SegmenterError": "regionpaint.engines.segmenters.base",
    "EngineTrainer": "regionpaint.engines.training.contract",
    "OptionError": "regionpaint.engines.schema",
    "PLUGIN_API_VERSION": "regionpaint.markers",
    "PROJECT_NAME": "regionpaint.markers",
    "hookimpl": "regionpaint.markers",
    "hookspec": "regionpaint.markers",
}


def __getattr__(name: str):
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("regionpaint")
        except PackageNotFoundError:
            return "0+unknown"
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'regionpaint' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)
