"""Where Save as and Export suggest writing: beside the document, named after it.

A saved project suggests its own folder and name; a new document the folder and name of the photo (or label
map) it was made from; only a document with neither falls back to the last folder used, then the home
folder — never the process's working folder, which for a desktop launch is wherever the launcher ran.
The bundled demos live inside the installation, so their copies go to the person's folder instead.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_SUFFIX = ".rpaint"
UNTITLED = "untitled"

#: Export kind -> the suffix added to the document's name ("street" -> "street_result.png").
EXPORT_NAMES = {"result": "_result.png", "labels": "_labels.png", "labels_colour": "_labels_colour.png"}


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def document_place(
    project_path: Path | None,
    origin: Path | None,
    last_folder: str | Path | None,
    home: Path,
    installed_folder: Path | None = None,
) -> tuple[Path, str]:
    """(folder, name stem) a document's files are suggested under."""
    fallback = Path(last_folder) if last_folder else home
    if project_path is not None and not _inside(project_path, installed_folder):
        return project_path.parent, project_path.stem
    if origin is not None and not _inside(origin, installed_folder):
        return origin.parent, origin.stem
    if project_path is not None:  # a bundled demo: its name, in the person's folder
        return fallback, project_path.stem
    return fallback, UNTITLED


def suggest_project_path(
    project_path: Path | None,
    origin: Path | None,
    last_folder: str | Path | None,
    home: Path,
    installed_folder: Path | None = None,
) -> Path:
    folder, stem = document_place(project_path, origin, last_folder, home, installed_folder)
    return folder / f"{stem}{PROJECT_SUFFIX}"


def suggest_export_path(
    kind: str,
    project_path: Path | None,
    origin: Path | None,
    last_folder: str | Path | None,
    home: Path,
    installed_folder: Path | None = None,
) -> Path:
    """``kind`` is a key of :data:`EXPORT_NAMES`; ``last_folder`` is the last export folder (used only when
    the document has no place of its own)."""
    folder, stem = document_place(project_path, origin, last_folder, home, installed_folder)
    return folder / f"{stem}{EXPORT_NAMES[kind]}"
