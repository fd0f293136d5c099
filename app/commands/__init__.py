"""Built-in plugin: the ``regionpaint`` sub-commands, registered through the same hook as plugins' commands."""

from regionpaint.markers import hookimpl


@hookimpl
def register_commands(cli):
    from regionpaint.app.commands import (
        batch,
        engines,
        export_labels,
        gui,
        models,
        plugins,
        render,
        segment,
        train,
        tune,
    )
    from regionpaint.plugins.manager import PluginError

    # Each on its own: one command failing to set up (e.g. a plugin's engine option upsetting `render`'s
    # parser) must not take the commands after it along.
    failed = []
    for module in (engines, plugins, render, gui, train, batch, export_labels, segment, models, tune):
        try:
            module.register(cli)
        except Exception as exc:  # reported against this plugin by the manager, with the others registered
            failed.append(f"{module.__name__.rsplit('.', 1)[-1]}: {type(exc).__name__}: {exc}")
    if failed:
        raise PluginError("commands not registered: " + "; ".join(failed))
