"""Where regionpaint keeps its files: one data folder for models, autosaves, plugin state and settings; one cache
folder for what can be rebuilt.

``REGIONPAINT_DATA_DIR`` overrides it (tests, portable installs); otherwise it is platformdirs'
``user_data_dir("regionpaint")``. The one definition every room uses (the editor, the plugin state, the model
manager), so they can never disagree. Importable without torch, Qt or the rest of regionpaint.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "REGIONPAINT_DATA_DIR"
APP_NAME = "regionpaint"


def data_dir() -> Path:
    """The data folder (not created here: each user of it creates what it writes)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    from platformdirs import user_data_dir  # only when no override: keeps the import off the common path

    return Path(user_data_dir(APP_NAME))


CACHE_DIR_ENV = "REGIONPAINT_CACHE_DIR"


def cache_dir() -> Path:
    """The cache folder: what can be rebuilt (per-machine kernel timings). ``REGIONPAINT_CACHE_DIR`` overrides
    platformdirs' ``user_cache_dir("regionpaint")``; not created here."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME))
