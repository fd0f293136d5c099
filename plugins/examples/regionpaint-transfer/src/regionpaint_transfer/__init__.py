"""regionpaint-transfer: per-region colour and texture transfer from style photos, without weights."""

__version__ = "0.1.0"
