"""Shared test set-up: Qt offscreen, no third-party plugins from the environment, fixture locations."""

import os
import signal
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests see only the built-in plugins unless a test installs its own.
os.environ["REGIONPAINT_LOAD_PLUGINS"] = ""
# Kernel choices by the first-guess rules, not by timing (engines/acceleration/autotune.py): the same choices
# on every machine and run, and no cache file written. Tests of the tuning itself set their own tuner.
os.environ["REGIONPAINT_AUTOTUNE"] = "0"

# A suite started in the background by a shell without job control inherits SIGINT ignored, and so would every
# child it starts: the tests that press Ctrl+C in a real regionpaint process need the default, as in a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

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


# Markers whose tests run only when asked for by name in -m, whatever other -m is given.
OPT_IN_MARKERS = ("fuzz", "compile")


def pytest_collection_modifyitems(config, items):
    """The 10,000-case fuzz run (``-m fuzz``) and real torch.compile runs (``-m compile``) only when asked
    for, whatever other ``-m`` is given (``./dev test -m "not slow"`` must stay quick)."""
    asked = config.option.markexpr or ""
    skipped = [m for m in OPT_IN_MARKERS if m not in asked]
    kept = [item for item in items if not any(item.get_closest_marker(m) for m in skipped)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_main_thread():
    """After an editor window switched automatic collection off (app/qt/workers/main_thread_gc.py), collect after each
    test here on the main thread, so tests that run no event loop do not pile up garbage cycles."""
    yield
    import gc

    if not gc.isenabled():
        gc.collect()
