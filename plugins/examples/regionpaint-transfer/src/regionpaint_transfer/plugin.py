"""The module the ``regionpaint`` entry point names: the hooks and the API version this plugin needs."""

import regionpaint

REGIONPAINT_API = "1.0"


@regionpaint.hookimpl
def register_engines(register):
    from regionpaint_transfer.engine import TransferEngine

    register(TransferEngine)
