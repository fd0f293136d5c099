"""Built-in plugin: the ``regionpaint`` sub-commands, registered through the same hook as plugins' commands."""

from regionpaint.markers import hookimpl


@hookimpl
def register_commands(cli):
    from app.commands import batch, export_labels, gui, listing, render, segment, train

    listing.register(cli)
    render.register(cli)
    gui.register(cli)
    train.register(cli)
    batch.register(cli)
    export_labels.register(cli)
    segment.register(cli)
