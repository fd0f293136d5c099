"""What is installed: ``<data folder>/models/<entry name>/`` with the entry's files and a manifest.

The data folder is platformdirs' ``user_data_dir("regionpaint")`` or ``REGIONPAINT_DATA_DIR`` (the same folder
the editor and the plugin state use); its ``models/`` is the folder the editor's checkpoint picker scans.
Each installed model's ``regionpaint-model.json`` records, per file, its size, modification time and sha256
as verified at install time, so ``models list`` can say "verified" without reading gigabytes, and
``models verify`` re-hashes and detects a file that changed. Partial downloads and archives wait in
``models/.downloads/`` (a dot-folder: the picker skips it).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from regionpaint.app.model_manager.catalog import Entry
from regionpaint.app.model_manager.errors import ModelError

MANIFEST = "regionpaint-model.json"
DOWNLOADS = ".downloads"
LICENCES = ".licences.json"
MANIFEST_SCHEMA = 1


def models_root() -> Path:
    from regionpaint.locations import data_dir

    return data_dir() / "models"


def install_dir(name: str, root: Path | None = None) -> Path:
    return (root or models_root()) / name


def downloads_dir(root: Path | None = None) -> Path:
    return (root or models_root()) / DOWNLOADS


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class InstalledFile:
    role: str
    size: int
    mtime_ns: int
    sha256: str
    hash_from_catalog: bool = False
    linked_to: str | None = None

    @classmethod
    def at(cls, path: Path, role: str, checked: Any, linked_to: str | None = None) -> InstalledFile:
        """The record of an installed file now on disk at ``path``; ``checked`` carries its verified sha256."""
        stat = path.stat()
        return cls(role, stat.st_size, stat.st_mtime_ns, checked.sha256, checked.hash_from_catalog, linked_to)


@dataclass
class Manifest:
    entry: str
    title: str
    kind: str
    target: str
    label_set: str
    layout: str
    source: str
    installed: str
    verified: str
    files: dict[str, InstalledFile] = field(default_factory=dict)

    @classmethod
    def for_entry(cls, entry: Entry, files: dict[str, InstalledFile], source: str, installed: str) -> Manifest:
        """What an install folder records for a catalog entry, verified now."""
        return cls(
            entry.name,
            entry.title,
            entry.kind,
            entry.target,
            entry.label_set,
            entry.layout,
            source,
            installed,
            now(),
            files,
        )

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "files"}
        data["files"] = {name: dict(f.__dict__) for name, f in self.files.items()}
        return {"schema": MANIFEST_SCHEMA, **data}


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest of an installed folder; None when there is none, ModelError when it is damaged."""
    from regionpaint.untrusted import read_json

    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        data = read_json(path)
        files = {
            str(name): InstalledFile(**{k: v for k, v in spec.items() if k in InstalledFile.__dataclass_fields__})
            for name, spec in data["files"].items()
        }
        fields = {k: str(data[k]) for k in Manifest.__dataclass_fields__ if k != "files"}
        return Manifest(files=files, **fields)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"{path}: damaged model record ({exc}); `regionpaint models verify` rewrites it") from None


def write_manifest(folder: Path, manifest: Manifest) -> None:
    write_json_atomic(folder / MANIFEST, manifest.to_json())


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@dataclass(frozen=True)
class Status:
    """What ``models list`` and the dialog show for one entry, from the manifest and file stats only."""

    state: str  # "not installed", "verified", "changed", "missing files", "not verified", "damaged record"
    folder: Path
    detail: str = ""
    manifest: Manifest | None = None

    @property
    def installed(self) -> bool:
        return self.state in ("verified", "changed", "not verified")


def status(entry: Entry, root: Path | None = None) -> Status:
    folder = install_dir(entry.name, root)
    try:
        manifest = read_manifest(folder)
    except ModelError as exc:
        return Status("damaged record", folder, str(exc))
    required = [f.path for f in entry.files if not f.optional]
    if manifest is None:
        present = [p for p in required if (folder / p).is_file()]
        if present and len(present) == len(required):
            return Status("not verified", folder, "files in place; `regionpaint models verify` checks and records them")
        return Status("not installed", folder)
    missing = [p for p in required if not (folder / p).is_file()]
    if missing:
        return Status("missing files", folder, f"{folder / missing[0]} is gone", manifest)
    for name, record in manifest.files.items():
        try:
            stat = (folder / name).stat()
        except OSError:
            return Status("missing files", folder, f"{folder / name} is gone", manifest)
        if stat.st_size != record.size or stat.st_mtime_ns != record.mtime_ns:
            return Status("changed", folder, f"{folder / name} changed since it was verified", manifest)
    return Status("verified", folder, "", manifest)


def remove(entry: Entry, root: Path | None = None) -> Path:
    """Delete an installed model's folder (a linked file's link only, never the file it points to)."""
    folder = install_dir(entry.name, root)
    if not folder.exists():
        raise ModelError(f"{entry.name} is not installed (nothing at {folder})")
    shutil.rmtree(folder)  # rmtree unlinks symlinks; it does not follow them
    return folder


# -- licences ------------------------------------------------------------------------------------------------


def accepted_licences(root: Path | None = None) -> dict[str, str]:
    path = (root or models_root()) / LICENCES
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    accepted = data.get("accepted") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in accepted.items()} if isinstance(accepted, dict) else {}


def accept_licence(licence_id: str, root: Path | None = None) -> None:
    accepted = accepted_licences(root)
    accepted.setdefault(licence_id, now())
    write_json_atomic((root or models_root()) / LICENCES, {"accepted": accepted})
