"""Asking an engine whether a checkpoint is in its own layout (``Engine.locate``), with the host's checks.

An engine may bring a checkpoint format of its own (a folder with ``model.pt`` + ``config.json``, say). The
plugin manager asks such engines before its generic rules (:meth:`PluginManager.resolve_checkpoint`); this
module asks one engine and checks what it answers:

* the engine's code runs under :func:`regionpaint.plugins.containment.run_plugin_code`: an exception, a
  ``sys.exit()`` or an ``os._exit()`` is a :class:`LocateFault` naming the engine and its plugin, never the
  end of the process;
* a :class:`CheckpointError` (any ``EngineError``) it raises is its own word on a checkpoint in its layout that
  is broken ("no clade_lite.safetensors ..."), passed on unchanged, as one line;
* a claim must be a ``CheckpointInfo`` for this engine (``declared_engine`` is filled in), and every file it
  lists must be a regular file, so the engine's ``load`` never opens a FIFO or a device named ``model.pt``.

Torch-free: the editor's checkpoint picker asks while it lists folders.
"""

from __future__ import annotations

import logging
from pathlib import Path

from regionpaint import untrusted
from regionpaint.engines.base import CheckpointError, CheckpointInfo, Engine, EngineError
from regionpaint.plugins.containment import PluginCodeError, run_plugin_code

log = logging.getLogger(__name__)


class LocateFault(CheckpointError):
    """An engine's ``locate`` failed in a way that is its bug (not a word on the checkpoint) or answered nonsense."""


def has_own_layout(engine_class: type[Engine]) -> bool:
    """Whether the engine overrides ``Engine.locate`` (only those are asked: the rest claim nothing)."""
    own = getattr(getattr(engine_class, "locate", None), "__func__", None)
    return own is not None and own is not Engine.locate.__func__


def ask_engine(engine_class: type[Engine], path: Path, origin: str) -> CheckpointInfo | None:
    """``engine_class.locate(path)``, contained and checked; ``origin`` names the engine and its plugin
    in messages (``engine 'x' (plugin 'y', package z 1.0)``).

    Raises the engine's own :class:`CheckpointError` (one line), :class:`LocateFault` for its bugs, or the
    host's :class:`CheckpointError` for a claimed file that is not a regular file.
    """
    try:
        info = run_plugin_code(lambda: engine_class.locate(path))
    except PluginCodeError as exc:
        cause = exc.__cause__
        if isinstance(cause, EngineError):
            text = str(cause).strip()
            raise CheckpointError(text.splitlines()[0] if text else f"{path}: {origin} refused it") from cause
        raise LocateFault(f"{path}: {origin} failed while looking at this checkpoint ({exc})") from exc
    if info is None:
        return None
    return _checked_claim(info, engine_class, path, origin)


def _checked_claim(info: object, engine_class: type[Engine], path: Path, origin: str) -> CheckpointInfo:
    if not isinstance(info, CheckpointInfo):
        raise LocateFault(f"{path}: {origin}'s locate returned {type(info).__name__}, not a CheckpointInfo or None")
    if info.declared_engine not in (None, "", engine_class.id):
        raise LocateFault(f"{path}: {origin}'s locate claimed it for another engine, {info.declared_engine!r}")
    if not isinstance(info.files, dict):
        raise LocateFault(f"{path}: {origin}'s locate gave files as {type(info.files).__name__}, not a dict")
    info.declared_engine = engine_class.id
    info.files = {str(role): Path(file) for role, file in info.files.items()}
    for file in info.files.values():
        _require_regular(file)
    return info


def _require_regular(path: Path) -> None:
    """The host's check on every file a claim lists (the same words as the built-in loader's)."""
    try:
        untrusted.check_regular(path)
    except untrusted.UntrustedFileError as exc:
        raise CheckpointError(str(exc)) from None
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file (a broken link?)") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CheckpointError(f"{path}: the checkpoint file cannot be read ({reason})") from None
