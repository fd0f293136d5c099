"""The pluggy markers, at the bottom of the import graph.

``plugins/`` (hook specs, manager) and ``engines/`` (the built-in engines' plugin modules) both import
these; neither imports the other for them, so there is no import cycle.
"""

import pluggy

PROJECT_NAME = "regionpaint"
# Bumped when a hook or the engine contract changes incompatibly (major) or grows (minor).
PLUGIN_API_VERSION = "1.1"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
