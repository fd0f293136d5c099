"""The Qt editor: windows, widgets and render workers (the only package that imports Qt)."""

from regionpaint.app.qt.pyside_workarounds import protect_none_refcount

# Before any widget exists: see the module for the PySide6 6.12.0 bug this guards against.
protect_none_refcount()
