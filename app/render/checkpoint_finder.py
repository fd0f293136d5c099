"""Finding checkpoints for the picker: the models folder, folders a person added, the document's own.

Only file names are looked at (no weights are read, torch is not imported): an official folder has
``*_net_G.pth``; a regionpaint checkpoint is a ``.safetensors`` file (with its JSON sidecar); engines with a
layout of their own are asked (``Engine.locate``: names and small files only). A folder the
model manager installed (``regionpaint models get``, File › Models…) carries a manifest: it is listed by its
catalog title ("SPADE · Cityscapes (official)"), before the checkpoints listed by path; segmenter weights and
the manager's ``.downloads`` are not checkpoints and are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MAX_DEPTH = 3  # models/<name>/checkpoints/<case> is as deep as official layouts go


@dataclass(frozen=True)
class CheckpointChoice:
    path: Path
    title: str
    catalog: bool = False  # installed by the model manager: listed first, by its catalog title


def installed_title(folder: Path) -> tuple[str, str] | None:
    """(title, kind) from an installed model's manifest; None for any other folder."""
    from regionpaint.app.model_manager.store import MANIFEST, read_manifest

    if not (folder / MANIFEST).is_file():
        return None
    try:
        manifest = read_manifest(folder)
    except ValueError as exc:  # a damaged manifest: the folder is listed by its name, as before
        log.info("%s", exc)
        return None
    return (manifest.title, manifest.kind) if manifest is not None else None


def is_checkpoint(path: Path) -> bool:
    """True for an official folder, a ``.safetensors`` file, a ``*.pth`` generator file, or a file or folder
    an engine claims as its own layout (``Engine.locate``)."""
    try:
        if path.is_dir():
            generic = any(path.glob("*_net_G.pth")) or any(path.glob("*.safetensors"))
        else:
            generic = path.is_file() and (path.suffix == ".safetensors" or path.name.endswith("_net_G.pth"))
    except OSError:
        return False
    return generic or _claimed_by_an_engine(path)


def _claimed_by_an_engine(path: Path) -> bool:
    from regionpaint.plugins.manager import get_plugin_manager

    try:
        return get_plugin_manager().claims_checkpoint(path)
    except Exception as exc:  # the registry failing must not empty the picker
        log.info("cannot ask the engines about %s: %s", path, exc)
        return False


def scan_folder(folder: Path, depth: int = MAX_DEPTH) -> list[CheckpointChoice]:
    """Checkpoints inside ``folder`` (itself included), sorted by title; unreadable folders are skipped."""
    if not folder.is_dir():
        return []
    installed = installed_title(folder)
    if installed is not None:
        title, kind = installed
        return [CheckpointChoice(folder, title, catalog=True)] if kind == "engine" and is_checkpoint(folder) else []
    if is_checkpoint(folder):
        tensors = sorted(folder.glob("*.safetensors"))
        if len(tensors) > 1 and not any(folder.glob("*_net_G.pth")):
            # A folder of several .safetensors files holds several checkpoints: list each file.
            return [CheckpointChoice(p, p.stem) for p in tensors]
        return [CheckpointChoice(folder, folder.name)]
    found: list[CheckpointChoice] = []
    if depth <= 0:
        return found
    try:
        children = sorted(folder.iterdir())
    except OSError as exc:
        log.info("cannot list %s: %s", folder, exc)
        return found
    for child in children:
        if child.name.startswith("."):
            continue  # .downloads and other hidden folders: partial files, never checkpoints
        if child.is_dir():
            found += scan_folder(child, depth - 1)
        elif is_checkpoint(child):
            found.append(CheckpointChoice(child, child.stem))
    return sorted(found, key=lambda choice: (not choice.catalog, choice.title.lower()))


def checkpoint_choices(models_folder: Path, added: Iterable[Path], current: str = "") -> list[CheckpointChoice]:
    """Everything the picker offers, without duplicates: the document's checkpoint first."""
    choices: list[CheckpointChoice] = []
    if current:
        installed = installed_title(Path(current)) if Path(current).is_dir() else None
        title = installed[0] if installed else Path(current).name or current
        choices.append(CheckpointChoice(Path(current), title, catalog=installed is not None))
    choices += scan_folder(models_folder)
    for path in added:
        if path.is_dir():
            choices += scan_folder(path)
        elif path.exists():
            choices.append(CheckpointChoice(path, path.stem))
    unique: dict[str, CheckpointChoice] = {}
    for choice in choices:
        unique.setdefault(_key(choice.path), choice)
    return list(unique.values())


def _key(path: Path) -> str:
    try:
        return str(path.resolve())
    except OSError:
        return str(path)


def demo_checkpoints(folder: Path | None = None) -> list[CheckpointChoice]:
    """The bundled demo models (``assets/demo/models``), listed under "Demo models" in the picker."""
    from regionpaint.app.bundled_demo import DEMO_MODELS_DIR

    return scan_folder(DEMO_MODELS_DIR if folder is None else folder)
