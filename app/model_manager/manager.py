"""The model manager's operations, shared by ``regionpaint models`` and the editor's Models dialog.

``get`` tries an entry's sources in the catalog's order (official first, then mirrors): a source that fails
(404, no permission, a missing optional library, offline) or gives a file that fails verification is
reported and the next one is tried. A file is installed only after it passed every check of
:func:`regionpaint.app.model_manager.verify.check_file`; its hash is recorded in the model's manifest.

Progress goes to ``report(event)``, a dict: ``{"event": "status" | "progress" | "source-failed" | "installed"
| "kept", "entry": NAME, ...}`` (``progress`` has ``file``, ``done``, ``total``); the CLI draws tqdm bars or
prints them as JSON lines, the dialog moves its progress bars. ``cancel`` (a threading.Event) stops a
download between chunks; what was fetched stays for the next run to resume.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from threading import Event
from typing import Any

from regionpaint.app.model_manager import archive as archives
from regionpaint.app.model_manager import download, store
from regionpaint.app.model_manager.catalog import WEIGHT_ROLES, Catalog, Entry, ModelFile, Source, load_catalog
from regionpaint.app.model_manager.errors import Cancelled, ModelError
from regionpaint.app.model_manager.verify import (
    Checked,
    check_file,
    closest_entry,
    read_shapes,
    recognise_shapes,
    sha256_of,
)

log = logging.getLogger(__name__)

OFFLINE_ENV = "REGIONPAINT_OFFLINE"
ARCHIVE_CAP = 32 << 30  # an archive of unknown size: the official tarballs are a few GB; 32 GiB stops a runaway
TEXT_CAP = 1 << 20  # opt.txt, sidecars
FEATURES_CAP = 64 << 20
WEIGHT_SLACK = 64 << 20  # pickle framing and alignment around the tensors of a .pth
UNPACKED = ".unpacked"  # inside downloads/<entry>/: members taken out of an archive, before they are checked
ADDING = ".adding"  # inside downloads/<entry>/: copies of the user's files, checked before they are installed
WEIGHT_SUFFIXES = (".pth", ".pt", ".safetensors", ".bin", ".ckpt")

Report = Callable[[dict[str, Any]], None]


def offline_from_env() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


class LicenceRequired(ModelError):
    """A non-commercial licence not yet accepted; the CLI asks, the dialog asks, or ``--accept-licence``."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        super().__init__(
            f"{entry.name} is licensed {entry.licence.title} ({entry.licence.url}); accept it once with "
            f"`regionpaint models get {entry.name} --accept-licence` (or in the editor's Models dialog)"
        )


@dataclass
class VerifyResult:
    name: str
    ok: bool
    message: str
    folder: Path


@dataclass
class ModelManager:
    catalog: Catalog = field(default_factory=load_catalog)
    root: Path = field(default_factory=store.models_root)
    offline: bool = field(default_factory=offline_from_env)
    report: Report = lambda event: None  # noqa: E731 - a default that ignores events
    cancel: Event = field(default_factory=Event)

    def __post_init__(self) -> None:
        self._archive_files: dict[str, Path | ModelError] = {}
        self._extracted: dict[tuple[str, str], Path] = {}

    # -- queries -------------------------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        return list(self.catalog.entries.values())

    def status(self, entry: Entry) -> store.Status:
        return store.status(entry, self.root)

    def size_of(self, entry: Entry) -> int:
        """Bytes the installed weights take: the catalog's sizes where known, else the layout's tensor bytes."""
        sizes = [f.size for f in entry.weight_files()]
        if sizes and all(s is not None for s in sizes):
            return sum(sizes)
        return self.catalog.layout(entry.layout).tensor_bytes

    def licence_accepted(self, entry: Entry) -> bool:
        return not entry.non_commercial or entry.licence.id in store.accepted_licences(self.root)

    def accept_licence(self, entry: Entry) -> None:
        store.accept_licence(entry.licence.id, self.root)

    def installed_path(self, name: str) -> Path:
        """What to open for an installed model: its folder (engines) or its weights file (segmenters)."""
        entry = self.catalog.entry(name)
        state = self.status(entry)
        if not state.installed:
            raise ModelError(
                f"{name} ({entry.title}) is not installed; `regionpaint models get {name}` downloads it "
                f"(`regionpaint models list` shows what is installed)"
            )
        if entry.kind == "segmenter":
            return state.folder / entry.weight_files()[0].path
        return state.folder

    def installed_for(self, kind: str, target: str) -> list[tuple[Entry, Path]]:
        """Installed entries for an engine or segmenter id, with :meth:`installed_path`."""
        return [
            (e, self.installed_path(e.name)) for e in self.catalog.entries_for(kind, target) if self.status(e).installed
        ]

    def offline_instructions(self, entry: Entry) -> str:
        """Which file to put where, for someone without a connection (or whose sources all failed)."""
        folder = store.install_dir(entry.name, self.root)
        steps = []
        for file in entry.files:
            if file.optional:
                continue
            for source in file.sources:
                if source.kind == "archive":
                    arch = self.catalog.archives[source.archive]
                    where = " or ".join(s.describe() for s in arch.sources)
                    steps.append(f"get {arch.filename} from {where} and run `regionpaint models add {arch.filename}`")
            direct = [s.describe() for s in file.sources if s.kind != "archive"]
            if direct:
                steps.append(
                    f"get {file.path} from {' or '.join(direct)}, then run `regionpaint models add {file.path}` "
                    f"(or put it at {folder / file.path} and run `regionpaint models verify {entry.name}`)"
                )
        return "; or ".join(dict.fromkeys(steps))

    # -- get -----------------------------------------------------------------------------------------------
    def get(self, name: str, force: bool = False) -> store.Manifest:
        """Download, verify and install ``name``; an installed, verified model is kept unless ``force``."""
        entry = self.catalog.entry(name)
        state = self.status(entry)
        if state.state == "verified" and not force:
            self._status(entry, f"already installed and verified in {state.folder}")
            return state.manifest
        if self.offline:
            raise ModelError(
                f"offline: {entry.name} is not downloaded. To install it by hand: " + self.offline_instructions(entry)
            )
        if not self.licence_accepted(entry):
            raise LicenceRequired(entry)
        staging = store.downloads_dir(self.root) / entry.name
        checked: dict[str, Checked] = {}
        used: list[str] = []
        try:
            for file in entry.files:
                failures: list[str] = []
                got = self._obtain(entry, file, staging / file.path, failures)
                if got is None:
                    if file.optional:
                        log.info("%s: optional %s not available: %s", entry.name, file.path, "; ".join(failures))
                        continue
                    tried = "\n  ".join(failures) or "no source"
                    raise ModelError(
                        f"could not get {file.path} of {entry.name}:\n  {tried}\n"
                        f"To install it by hand: {self.offline_instructions(entry)}"
                    )
                checked[file.path], source = got
                used.append(source.describe())
            manifest = self._install(entry, checked, "; ".join(dict.fromkeys(used)))
        finally:
            # Partial downloads stay for the next run to resume; what was unpacked is cheap to unpack again.
            shutil.rmtree(staging / UNPACKED, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        self._release_archives(entry)
        return manifest

    def _obtain(self, entry: Entry, file: ModelFile, dest: Path, failures: list[str]) -> tuple[Checked, Source] | None:
        for source in file.sources:
            try:
                if source.kind == "archive":
                    path = self._from_archive(entry, source)
                else:
                    if source.kind != "page":
                        self._status(entry, f"{file.path}: trying {source.describe()}")
                    path = download.fetch(
                        source,
                        dest,
                        max_bytes=self._bound(entry, file),
                        progress=self._progress(entry, file.path),
                        cancel=self.cancel,
                    )
                self._status(entry, f"{file.path}: verifying")
                return check_file(path, entry, file, self.catalog, self.cancel), source
            except Cancelled:
                raise
            except download.SourceFailed as exc:
                failures.append(str(exc))
            except ModelError as exc:  # the file came but failed verification: never installed; next source
                failures.append(str(exc))
                dest.unlink(missing_ok=True)
            self.report({"event": "source-failed", "entry": entry.name, "message": failures[-1]})
        return None

    def _bound(self, entry: Entry, file: ModelFile) -> int:
        if file.size is not None:
            return file.size
        if file.role in ("opt", "sidecar"):
            return TEXT_CAP
        if file.role == "features":
            return FEATURES_CAP
        layout = self.catalog.layout(entry.layout)
        roles = layout.nets if file.role == "checkpoint" else [file.role]
        tensor_bytes = sum(sum(_bytes(shape, dtype) for _, shape, dtype in layout.nets[r]) for r in roles)
        return tensor_bytes + tensor_bytes // 10 + WEIGHT_SLACK

    def _from_archive(self, entry: Entry, source: Source) -> Path:
        key = (source.archive, source.member)
        if key not in self._extracted:
            path = self._download_archive(entry, source.archive)
            wanted = self._wanted(entry, source.archive)
            self._status(entry, f"unpacking {path.name}")
            found = archives.extract(path, wanted, self.cancel)
            for member, written in found.items():
                self._extracted[(source.archive, member)] = written
            if key not in self._extracted:
                raise download.SourceFailed(f"{path.name}: has no member {source.member!r}")
        return self._extracted[key]

    def _wanted(self, entry: Entry, archive_name: str) -> dict[str, archives.Wanted]:
        staging = store.downloads_dir(self.root) / entry.name / UNPACKED
        wanted = {}
        for file in entry.files:
            for source in file.sources:
                if source.kind == "archive" and source.archive == archive_name:
                    wanted[source.member] = archives.Wanted(staging / file.path, self._bound(entry, file))
        return wanted

    def _download_archive(self, entry: Entry, name: str) -> Path:
        cached = self._archive_files.get(name)
        if isinstance(cached, ModelError):
            raise download.SourceFailed(str(cached))
        if cached is not None:
            return cached
        arch = self.catalog.archives[name]
        dest = store.downloads_dir(self.root) / arch.filename
        failures: list[str] = []
        sources: Iterable[Source] = arch.sources
        if dest.is_file():  # kept from installing another entry of the same archive
            self._status(entry, f"{arch.filename}: already downloaded")
            sources = ()
        for src in sources:
            try:
                self._status(entry, f"{arch.filename}: trying {src.describe()}")
                download.fetch(
                    src,
                    dest,
                    max_bytes=arch.size or ARCHIVE_CAP,
                    progress=self._progress(entry, arch.filename),
                    cancel=self.cancel,
                )
                break
            except download.SourceFailed as exc:
                failures.append(str(exc))
                self.report({"event": "source-failed", "entry": entry.name, "message": str(exc)})
        if not dest.is_file():
            error = ModelError("; ".join(failures) or f"{arch.filename}: no source")
            self._archive_files[name] = error
            raise download.SourceFailed(str(error))
        if arch.sha256 is not None:
            self._status(entry, f"{arch.filename}: checking its sha256")
            digest = sha256_of(dest, self.cancel)
            if digest != arch.sha256:
                dest.unlink()
                error = ModelError(f"{dest}: sha256 {digest[:12]}… is not the catalog's {arch.sha256[:12]}…; deleted")
                self._archive_files[name] = error
                raise download.SourceFailed(str(error))
        self._archive_files[name] = dest
        return dest

    def _release_archives(self, entry: Entry) -> None:
        """Delete a downloaded archive unless another entry not yet installed still needs it."""
        for name in entry.archives():
            arch = self.catalog.archives[name]
            path = store.downloads_dir(self.root) / arch.filename
            if not path.is_file():
                continue
            waiting = [e.name for e in self.entries() if name in e.archives() and not self.status(e).installed]
            if waiting:
                self.report(
                    {
                        "event": "kept",
                        "entry": entry.name,
                        "message": f"kept {path} for {', '.join(waiting)} "
                        "(`regionpaint models remove --cache` frees it)",
                    }
                )
            else:
                path.unlink()

    # -- install -------------------------------------------------------------------------------------------
    def _install(
        self, entry: Entry, checked: dict[str, Checked], source: str, links: Iterable[str] = ()
    ) -> store.Manifest:
        folder = store.install_dir(entry.name, self.root)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / store.MANIFEST).unlink(missing_ok=True)  # an interrupted install reads as "not verified"
        roles = {f.path: f.role for f in entry.files}
        links = set(links)
        files = {}
        for name, item in checked.items():
            target = folder / name
            if target.is_symlink() or target.exists():
                target.unlink()
            if name in links:
                target.symlink_to(item.path.resolve())
            else:
                os.replace(item.path, target)
            linked_to = str(item.path.resolve()) if name in links else None
            files[name] = store.InstalledFile.at(target, roles[name], item, linked_to)
        manifest = store.Manifest.for_entry(entry, files, source, installed=store.now())
        store.write_manifest(folder, manifest)
        self.report({"event": "installed", "entry": entry.name, "folder": str(folder)})
        return manifest

    # -- add -----------------------------------------------------------------------------------------------
    def add(self, path: str | Path, link: bool = False) -> list[store.Manifest]:
        """Install what the user already downloaded: a weights file, a folder of them, or an archive."""
        path = Path(path).expanduser()
        if not path.exists():
            raise ModelError(f"{path}: no such file or folder")
        if path.is_dir():
            return self._add_folder(path, link)
        if path.suffix not in WEIGHT_SUFFIXES and archives.archive_format(path) is not None:
            return self._add_archive(path)
        return [self._add_file(path, link)]

    def _add_file(self, path: Path, link: bool, siblings: Path | None = None) -> store.Manifest:
        shapes = read_shapes(path)
        entry = recognise_shapes(shapes, self.catalog)
        if entry is None:
            closest = closest_entry(shapes, self.catalog)
            hint = f"; closest is {closest[0].name} ({closest[0].title}): {closest[1]}" if closest else ""
            raise ModelError(f"{path}: its tensors match no catalog entry's official layout{hint}")
        file = next(f for f in entry.weight_files() if self._matches(entry, f, shapes))
        self._status(entry, f"recognised {path.name} as {entry.title}")
        staging = store.downloads_dir(self.root) / entry.name / ADDING  # never the partial downloads beside it
        checked: dict[str, Checked] = {}
        links = []
        try:
            if link:
                checked[file.path] = check_file(path, entry, file, self.catalog, self.cancel)
                links.append(file.path)
            else:
                copy = staging / file.path
                archives.copy_file(path, copy)  # check the copy: the user's file may change under us
                checked[file.path] = check_file(copy, entry, file, self.catalog, self.cancel)
            folder = siblings or path.parent
            for other in entry.files:
                if other.path in checked:
                    continue
                candidate = folder / other.path
                if not candidate.is_file():
                    if not other.optional:
                        raise ModelError(f"{entry.name} also needs {other.path}; put it next to {path} and add again")
                    continue
                copy = staging / other.path
                archives.copy_file(candidate, copy)
                checked[other.path] = check_file(copy, entry, other, self.catalog, self.cancel)
            return self._install(entry, checked, f"added from {path}", links)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _matches(self, entry: Entry, file: ModelFile, shapes) -> bool:
        from regionpaint.app.model_manager.verify import layout_problem

        return layout_problem(file, self.catalog.layout(entry.layout), shapes) is None

    def _add_folder(self, folder: Path, link: bool) -> list[store.Manifest]:
        candidates = sorted(
            p
            for p in _walk(folder, depth=3)
            if p.suffix in WEIGHT_SUFFIXES and not p.name.endswith(("_net_D.pth", "_net_E.pth"))
        )
        installed, problems = [], []
        for candidate in candidates:
            try:
                installed.append(self._add_file(candidate, link, candidate.parent))
            except Cancelled:
                raise
            except ModelError as exc:
                problems.append(str(exc))
        if not installed:
            detail = "; ".join(problems[:3]) or "no .pth or .safetensors files"
            raise ModelError(f"{folder}: found no catalog model ({detail})")
        for problem in problems:
            self.report({"event": "source-failed", "entry": "", "message": problem})
        return installed

    def _add_archive(self, path: Path) -> list[store.Manifest]:
        members = archives.list_members(path)  # refuses hostile archives before anything is written
        by_entry: dict[str, dict[str, str]] = {}
        for entry in self.entries():
            wanted = {s.member: f.path for f in entry.files for s in f.sources if s.kind == "archive"}
            found = archives.match_members(members, dict.fromkeys(wanted, None))
            required = {s.member for f in entry.files if not f.optional for s in f.sources if s.kind == "archive"}
            if required and required <= set(found.values()):
                by_entry[entry.name] = wanted
        if not by_entry:
            listed = ", ".join(members[:5]) + (" …" if len(members) > 5 else "")
            raise ModelError(f"{path}: holds no catalog model's files (members: {listed or 'none'})")
        installed, problems = [], []
        for name, wanted_paths in by_entry.items():
            entry = self.catalog.entry(name)
            staging = store.downloads_dir(self.root) / entry.name / ADDING
            file_of = {f.path: f for f in entry.files}
            wanted = {m: archives.Wanted(staging / p, self._bound(entry, file_of[p])) for m, p in wanted_paths.items()}
            try:
                self._status(entry, f"unpacking {path.name}")
                found = archives.extract(path, wanted, self.cancel)
                checked = {}
                for member, written in found.items():
                    file = file_of[wanted_paths[member]]
                    checked[file.path] = check_file(written, entry, file, self.catalog, self.cancel)
                installed.append(self._install(entry, checked, f"added from {path}"))
            except Cancelled:
                raise
            except ModelError as exc:  # members with the right names but not this entry's tensors
                problems.append(str(exc))
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        if not installed:
            raise ModelError("; ".join(problems))
        for problem in problems:
            self.report({"event": "source-failed", "entry": "", "message": problem})
        return installed

    # -- verify, remove ------------------------------------------------------------------------------------
    def verify(self, names: Iterable[str] = ()) -> list[VerifyResult]:
        """Re-check installed models (all, or the named ones): hashes against the manifest and the catalog,
        every key and shape against the layout. Files placed by hand get their manifest written here."""
        names = list(names)
        entries = (
            [self.catalog.entry(n) for n in names]
            if names
            else [e for e in self.entries() if self.status(e).state != "not installed"]
        )
        results = []
        for entry in entries:
            folder = store.install_dir(entry.name, self.root)
            try:
                results.append(self._verify_one(entry, folder))
            except Cancelled:
                raise
            except ModelError as exc:
                results.append(VerifyResult(entry.name, False, str(exc), folder))
        return results

    def _verify_one(self, entry: Entry, folder: Path) -> VerifyResult:
        try:
            manifest = store.read_manifest(folder)
        except ModelError:
            manifest = None  # rewritten below once the files pass
        if manifest is None and not any((folder / f.path).is_file() for f in entry.files):
            raise ModelError(f"{entry.name} is not installed (nothing at {folder})")
        checked = {}
        for file in entry.files:
            path = folder / file.path
            if not path.is_file():
                if file.optional:
                    continue
                raise ModelError(f"{path}: missing ({entry.name} needs it)")
            record = manifest.files.get(file.path) if manifest else None
            self._status(entry, f"{file.path}: verifying")
            checked[file.path] = check_file(
                path, entry, file, self.catalog, self.cancel, record.sha256 if record else None
            )
        files = {}
        for name, item in checked.items():
            old = manifest.files.get(name) if manifest else None
            role = next(f.role for f in entry.files if f.path == name)
            files[name] = store.InstalledFile.at(folder / name, role, item, old.linked_to if old else None)
        adopted = manifest is None
        manifest = store.Manifest.for_entry(
            entry,
            files,
            source=manifest.source if manifest else f"placed by hand in {folder}",
            installed=manifest.installed if manifest else store.now(),
        )
        store.write_manifest(folder, manifest)
        how = "sha256 matches the catalog" if all(f.hash_from_catalog for f in files.values()) else "sha256 recorded"
        note = "recorded the files placed by hand; " if adopted else ""
        return VerifyResult(entry.name, True, f"{note}every key and shape of {entry.layout} matches; {how}", folder)

    def remove(self, name: str) -> Path:
        return store.remove(self.catalog.entry(name), self.root)

    def clear_cache(self) -> int:
        """Delete partial downloads and kept archives; returns the bytes freed."""
        folder = store.downloads_dir(self.root)
        freed = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
        shutil.rmtree(folder, ignore_errors=True)
        return freed

    # -- reporting -----------------------------------------------------------------------------------------
    def _status(self, entry: Entry, message: str) -> None:
        self.report({"event": "status", "entry": entry.name, "message": message})

    def _progress(self, entry: Entry, what: str):
        def progress(done: int, total: int | None) -> None:
            self.report({"event": "progress", "entry": entry.name, "file": what, "done": done, "total": total})

        return progress


def _bytes(shape: tuple[int, ...], dtype: str) -> int:
    from math import prod

    return prod(shape) * {"float16": 2, "bfloat16": 2, "float64": 8, "int64": 8}.get(dtype, 4)


def _walk(folder: Path, depth: int) -> Iterable[Path]:
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return
    for child in children:
        if child.name.startswith("."):
            continue
        if child.is_dir() and depth > 0:
            yield from _walk(child, depth - 1)
        elif child.is_file():
            yield child


def resolve_checkpoint(value: str, root: Path | None = None) -> str:
    """``--checkpoint NAME``: an installed catalog model's folder; any existing path is returned unchanged."""
    if not value or Path(value).exists() or os.sep in value or "/" in value:
        return value
    manager = ModelManager(catalog=load_catalog(), root=root or store.models_root())
    if value in manager.catalog.entries:
        return str(manager.installed_path(value))
    return value


def installed_segmenter_weights(segmenter_id: str, root: Path | None = None) -> Path | None:
    """The weights file of an installed catalog model for a segmenter, if there is one."""
    manager = ModelManager(catalog=load_catalog(), root=root or store.models_root())
    found = manager.installed_for("segmenter", segmenter_id)
    return found[0][1] if found else None


def segmenter_hint(segmenter_id: str) -> str:
    """``; `regionpaint models get NAME` downloads them`` for a segmenter the catalog has weights for, else ""."""
    entries = load_catalog().entries_for("segmenter", segmenter_id)
    return f"; `regionpaint models get {entries[0].name}` downloads them" if entries else ""


__all__ = ["WEIGHT_ROLES", "LicenceRequired", "ModelManager", "VerifyResult", "resolve_checkpoint"]
