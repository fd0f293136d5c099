"""The render room: from a document or command-line arguments to a finished image, Qt-free.

CLI (`render`, `render --project`, `batch`) and the editor share it.
"""
