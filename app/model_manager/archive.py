"""Taking the members an entry needs out of a downloaded tar or zip archive, safely and within bounds.

An archive from the internet may be hostile. Every member is looked at once, in one pass (a ``.tar.gz`` is a
stream): an absolute path, a ``..`` component, a link or a device anywhere in the archive refuses the whole
archive; a wanted member declaring more bytes than its bound is refused before a byte is written; and the
copy itself counts bytes, so a member that inflates past what it declared stops at the bound too. Only the
wanted members are written, each to a file the caller names (never a path taken from the archive).
"""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from threading import Event

from regionpaint.app.model_manager.errors import Cancelled, ModelError

CHUNK = 1 << 20


@dataclass(frozen=True)
class Wanted:
    """One member to take out: where to write it and the most bytes it may have."""

    dest: Path
    max_bytes: int


def normalise_member(name: str) -> str:
    """``./a/b`` and ``a//b`` -> ``a/b``; the name an archive lists, compared with the catalog's."""
    return str(PurePosixPath(*[p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in (".", "")]))


def unsafe_reason(name: str) -> str | None:
    """Why a member path may not be written anywhere near the user's files; None when it is harmless."""
    path = name.replace("\\", "/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return "an absolute path"
    if ".." in PurePosixPath(path).parts:
        return "a path that climbs out of the archive ('..')"
    return None


def match_members(names: list[str], wanted: Mapping[str, Wanted]) -> dict[str, str]:
    """Archive member name -> wanted member: exact (after normalising), else a unique path ending in it
    (an archive repacked with one more top folder, ``checkpoints/coco_pretrained/latest_net_G.pth``)."""
    normal = {normalise_member(n): n for n in names}
    found: dict[str, str] = {}
    for member in wanted:
        if member in normal:
            found[normal[member]] = member
            continue
        tails = [n for key, n in normal.items() if key.endswith("/" + member)]
        if len(tails) == 1:
            found[tails[0]] = member
    return found


def archive_format(path: Path) -> str | None:
    """``tar`` or ``zip`` from the file's bytes (not its name); None for anything else."""
    try:
        if zipfile.is_zipfile(path):
            return None if is_torch_zip(path) else "zip"
        if tarfile.is_tarfile(path):
            return "tar"
    except OSError:
        return None
    return None


def is_torch_zip(path: Path) -> bool:
    """``torch.save`` writes a zip too (``<name>/data.pkl``, ``<name>/data/0``, ...): a weights file, not an archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.count("/") == 1 and n.endswith("/data.pkl") for n in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def list_members(path: Path) -> list[str]:
    """Every member name (refusing unsafe archives as :func:`extract` does)."""
    return list(_scan(path, {}, Event()).keys())


def extract(path: Path, wanted: Mapping[str, Wanted], cancel: Event | None = None) -> dict[str, Path]:
    """Write the wanted members (catalog member path -> :class:`Wanted`); returns member -> written file.

    ModelError naming the archive and the member for an unsafe archive or a member past its bound; members
    not found are simply absent from the result (the caller knows which are optional).
    """
    written = _scan(path, wanted, cancel or Event())
    return {member: wanted[member].dest for member in written.values() if member in wanted}


def _scan(path: Path, wanted: Mapping[str, Wanted], cancel: Event) -> dict[str, str]:
    kind = archive_format(path)
    if kind is None:
        raise ModelError(f"{path}: not a tar or zip archive (damaged, or not fully downloaded?)")
    try:
        if kind == "zip":
            return _scan_zip(path, wanted, cancel)
        return _scan_tar(path, wanted, cancel)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        _remove_written(wanted)
        raise ModelError(f"{path}: the archive is damaged or truncated ({exc})") from None
    except ModelError:
        _remove_written(wanted)
        raise


def _scan_tar(path: Path, wanted: Mapping[str, Wanted], cancel: Event) -> dict[str, str]:
    seen: dict[str, str] = {}
    with tarfile.open(path, mode="r:*") as archive:
        for info in archive:  # streaming: members arrive in order, each checked before the next
            if cancel.is_set():
                raise Cancelled(f"{path}: extraction stopped")
            reason = unsafe_reason(info.name)
            if reason is None and (info.issym() or info.islnk()):
                reason = "a link"
            if reason is None and not (info.isfile() or info.isdir()):
                reason = "a device or special file"
            if reason is not None:
                raise ModelError(f"{path}: refused: member {info.name!r} is {reason}")
            if not info.isfile():
                continue
            match = match_members([info.name], wanted)
            seen[info.name] = match.get(info.name, "")
            if not match:
                continue
            target = wanted[match[info.name]]
            if info.size > target.max_bytes:
                raise ModelError(
                    f"{path}: refused: member {info.name!r} declares {info.size} bytes, more than the "
                    f"{target.max_bytes} this model's file can have"
                )
            source = archive.extractfile(info)
            if source is None:
                raise ModelError(f"{path}: member {info.name!r} cannot be read")
            _copy_bounded(source, target, f"{path}: member {info.name!r}", cancel)
    return seen


def _scan_zip(path: Path, wanted: Mapping[str, Wanted], cancel: Event) -> dict[str, str]:
    seen: dict[str, str] = {}
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        for info in infos:
            reason = unsafe_reason(info.filename)
            mode = (info.external_attr >> 16) & 0o170000
            if reason is None and mode == 0o120000:
                reason = "a link"
            if reason is not None:
                raise ModelError(f"{path}: refused: member {info.filename!r} is {reason}")
        matches = match_members([i.filename for i in infos if not i.is_dir()], wanted)
        for info in infos:
            if info.is_dir():
                continue
            seen[info.filename] = matches.get(info.filename, "")
            if info.filename not in matches:
                continue
            target = wanted[matches[info.filename]]
            if info.file_size > target.max_bytes:
                raise ModelError(
                    f"{path}: refused: member {info.filename!r} declares {info.file_size} bytes, more than the "
                    f"{target.max_bytes} this model's file can have"
                )
            with archive.open(info) as source:
                _copy_bounded(source, target, f"{path}: member {info.filename!r}", cancel)
    return seen


def _copy_bounded(source, target: Wanted, what: str, cancel: Event) -> None:
    """Copy at most ``target.max_bytes``; past it (a member inflating beyond its header) the file is removed."""
    target.dest.parent.mkdir(parents=True, exist_ok=True)
    done = 0
    with open(target.dest, "wb") as out:
        while True:
            if cancel.is_set():
                raise Cancelled(f"{what}: extraction stopped")
            chunk = source.read(CHUNK)
            if not chunk:
                break
            done += len(chunk)
            if done > target.max_bytes:
                out.close()
                target.dest.unlink(missing_ok=True)
                raise ModelError(f"{what} inflates past {target.max_bytes} bytes; refused")
            out.write(chunk)


def _remove_written(wanted: Mapping[str, Wanted]) -> None:
    for target in wanted.values():
        target.dest.unlink(missing_ok=True)


def copy_file(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)
