"""regionpaint's public API: the one name plugins and scripts outside this repository import.

    import regionpaint

    @regionpaint.hookimpl
    def register_engines(register):
        register(MyEngine)

Everything here is importable without torch or Qt. The repository keeps its folders (``app/``,
``engines/``, ``plugins/``); this package re-exports the contract from them.
"""

import importlib

# Public name -> the module that defines it. Resolved on first use (PEP 562), so importing a submodule
# such as ``regionpaint.types`` or ``regionpaint.markers`` loads nothing else.
_EXPORTS = {
    **{
        name: "engines.base"
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
    "StyleMix": "regionpaint.types",
    "ENGINE_STYLE_PREFIX": "regionpaint.types",
    "LabelSet": "app.model.labelsets",  # what register_label_sets takes (torch- and Qt-free)
    "Option": "engines.schema",
    "Segmenter": "engines.segmenters.base",
    "SegmenterError": "engines.segmenters.base",
    "EngineTrainer": "engines.training.contract",
    "OptionError": "engines.schema",
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
