"""Which engine a checkpoint belongs to, when engines may bring a layout of their own (``Engine.locate``).

An engine may bring a checkpoint format of its own (a folder with ``model.pt`` + ``config.json``, say).
:func:`resolve` (``PluginManager.resolve_checkpoint``) asks such engines before the generic rules (official
folders, ``.pth``, ``.safetensors`` with a sidecar; then ``recognizes``): with an engine id, that engine alone,
whose None leaves the generic rules; without, every such engine, and one claim decides. :func:`ask_engine`
asks one engine and checks what it answers:

* the engine's code runs under :func:`regionpaint.plugins.containment.run_plugin_code`: an exception, a
  ``sys.exit()`` or an ``os._exit()`` is a :class:`LocateFault` naming the engine and its plugin, never the
  end of the process;
* a :class:`CheckpointError` (any ``EngineError``) it raises is its own word on a checkpoint in its layout that
  is broken ("no clade_lite.safetensors ..."), passed on unchanged, as one line;
* a claim must be a ``CheckpointInfo`` for this engine (``declared_engine`` is filled in), and every file it
  lists must be a regular file, so the engine's ``load`` never opens a FIFO or a device named ``model.pt``.

Torch-free at import, and asking engines needs no torch (the editor's checkpoint picker asks while it lists
folders); only the generic rules of :func:`resolve` import it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from regionpaint.engines.base import CheckpointError, CheckpointInfo, Engine, EngineError
from regionpaint.engines.loading.readers import require_regular
from regionpaint.plugins.containment import PluginCodeError, run_plugin_code

if TYPE_CHECKING:
    from regionpaint.plugins.manager import PluginManager

log = logging.getLogger(__name__)


class LocateFault(CheckpointError):
    """An engine's ``locate`` failed in a way that is its bug (not a word on the checkpoint) or answered nonsense."""


def has_own_layout(engine_class: type[Engine]) -> bool:
    """Whether the engine overrides ``Engine.locate`` (only those are asked: the rest claim nothing)."""
    own = getattr(getattr(engine_class, "locate", None), "__func__", None)
    return own is not None and own is not Engine.locate.__func__


def resolve(manager: PluginManager, path: Path, engine_id: str = "") -> tuple[type[Engine], CheckpointInfo]:
    """The engine for ``path`` and the checkpoint's facts as that engine reads them (see the module doc).

    An engine's own :class:`CheckpointError` (its layout, but broken) reaches the caller in its words, unless the
    generic rules find the checkpoint someone else's; its bugs are logged and skipped, or, when it was named,
    reported naming it and its plugin.
    """
    if engine_id:
        engine_class = manager.engine_class(engine_id)
        if has_own_layout(engine_class):
            info = ask_engine(engine_class, path, manager.engine_origin(engine_id))
            if info is not None:
                return engine_class, info
        try:
            return engine_class, _generic_info(path)
        except CheckpointError as exc:
            if not has_own_layout(engine_class) or not os.path.lexists(path):
                raise
            raise CheckpointError(f"{exc}; nor is it in the {engine_id!r} engine's own layout") from exc
    claims: list[tuple[type[Engine], CheckpointInfo]] = []
    refusals: list[CheckpointError] = []
    for engine_class in _own_layout_engines(manager):
        try:
            info = ask_engine(engine_class, path, manager.engine_origin(engine_class.id))
        except LocateFault as exc:  # a third-party engine's bug must not hide the others
            log.warning("%s", exc)
            continue
        except CheckpointError as exc:
            refusals.append(exc)
            continue
        if info is not None:
            claims.append((engine_class, info))
    if len(claims) > 1:
        ids = ", ".join(engine_class.id for engine_class, _ in claims)
        raise CheckpointError(f"{path}: several engines claim this checkpoint as their own ({ids}); pass --engine")
    if claims:
        return claims[0]
    try:
        info = _generic_info(path)
        return manager.engine_for_checkpoint(info), info
    except CheckpointError:
        if refusals:  # in an engine's own layout, and broken: its words say more than the generic rules'
            raise refusals[0] from None
        raise


def claimed(manager: PluginManager, path: Path) -> bool:
    """Whether an engine with a layout of its own takes ``path`` (a broken checkpoint in its layout too)."""
    for engine_class in _own_layout_engines(manager):
        try:
            if ask_engine(engine_class, path, manager.engine_origin(engine_class.id)) is not None:
                return True
        except LocateFault as exc:
            log.info("%s", exc)
        except CheckpointError:
            return True
    return False


def _own_layout_engines(manager: PluginManager) -> list[type[Engine]]:
    return [entry.engine_class for entry in manager.engines().values() if has_own_layout(entry.engine_class)]


def _generic_info(path: Path) -> CheckpointInfo:
    """The host's own rules: official folders, bare ``.pth`` files, ``.safetensors`` with a sidecar (torch is
    imported here, not at this module's import)."""
    from regionpaint.engines.loading.checkpoint import inspect_checkpoint

    return inspect_checkpoint(path)


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
        require_regular(file)  # the built-in loader's check and words
    return info
