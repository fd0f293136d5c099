"""Plain data types shared by the document model and the engine contract (no imports beyond typing).

Both ``app/model`` (which must not import engines) and ``engines/base.py`` take them from here, so each
exists once.
"""

#: A weighted blend of style sources for one region: ``((source name, weight), ...)``, weights sum to 1.
StyleMix = tuple[tuple[str, float], ...]

#: Style source names starting with this are provided by the engine itself (the ``mean_style``
#: capability: ``@mean``, ``@random``), not by the document's style sources.
ENGINE_STYLE_PREFIX = "@"
