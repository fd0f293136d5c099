"""The Qt editor: windows, widgets and render workers (the only package that imports Qt)."""

from regionpaint.app.qt.import_scan import skip_source_scan
from regionpaint.app.qt.pyside_workarounds import protect_none_refcount

# Before any widget exists: see the module for the PySide6 6.12.0 bug this guards against.
protect_none_refcount()
# Before the render thread imports torch: PySide6 would read every torch module's source (import_scan.py).
skip_source_scan()
