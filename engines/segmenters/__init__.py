"""Segmenters: networks that label a photo, so any photo can become a document (see :mod:`.base`)."""
