"""Shared test set-up: Qt offscreen, no third-party plugins from the environment, fixture locations."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests see only the built-in plugins unless a test installs its own.
os.environ["REGIONPAINT_LOAD_PLUGINS"] = ""

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    """``../shared`` (fixtures, refs, specs); tests using it skip cleanly where it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


def require_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not present")
    return path


def pytest_collection_modifyitems(config, items):
    """The 10,000-case fuzz run only when asked for (``-m fuzz``), whatever other ``-m`` is given
    (``./dev test -m "not slow"`` must stay quick)."""
    if "fuzz" in (config.option.markexpr or ""):
        return
    kept = [item for item in items if item.get_closest_marker("fuzz") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("fuzz")])
        items[:] = kept
