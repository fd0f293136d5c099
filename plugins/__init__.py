"""The plugin system: hook specs, the plugin manager and discovery through entry points.

Plugins (built-in or pip-installed) implement hooks marked with :data:`hookimpl`::

    from plugins import hookimpl

    @hookimpl
    def register_engines(register):
        register(MyEngine)
"""

import pluggy

PROJECT_NAME = "regionpaint"
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
