"""The plugin system: hook specs, the plugin manager and discovery through entry points.

Plugins (built-in or pip-installed) implement hooks marked with ``regionpaint.hookimpl``::

    import regionpaint

    @regionpaint.hookimpl
    def register_engines(register):
        register(MyEngine)

The markers live in :mod:`regionpaint.markers`; they are re-exported here for older plugins.
"""

from regionpaint.markers import PROJECT_NAME, hookimpl, hookspec

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]
