"""``.rpaint`` project files: a zip of ``doc.json`` plus lossless image members.

Layout (schema 2)::

    doc.json                 settings, assignments, style source metadata, member names
    photo.png                (H, W, 3) RGB, optional
    label.png                (H, W) 8-bit, or 16-bit when the label map is uint16
    instance.png | .npy      16-bit PNG when every id lies in 0..65535, else int32 .npy; optional
    baseline.png             the photo's own segmentation (a photo edit), same rules as label.png; optional
    baseline_instance.png    its instance map, same rules as instance.png; optional
    styles/<n>/image.png     style source n (names live in doc.json, so any name is safe)
    styles/<n>/label.png     optional, same rules as label.png
    styles/<n>/instance.png  optional, same rules as instance.png (or .npy)
    render.png               the last render (the composite, for a photo edit), optional
    render_raw.png           the network's own output behind a composite, optional

A style source whose image (or label map) is the document's photo (or baseline) names that member
instead of a copy. Schema 1 (no baseline, no compositing) is still read: such a project opens as
it always did.

Saving is atomic; opening validates everything and raises :class:`ProjectError` with a
one-line message naming the file and the problem.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import posixpath
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from regionpaint import limits, untrusted

from .document import (
    CompositeSettings,
    Document,
    DocumentError,
    EngineSettings,
    StyleMix,
    StyleSourceData,
    check_style_mix,
)
from .imports import ImportFileError, index_from_image, instance_from_image, open_image, photo_from_image
from .labelsets import BUILTIN_LABEL_SETS, LabelIdError, LabelSet
from .plain_errors import write_error_words

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

SCHEMA_VERSION = 2
#: Schemas this version opens (1: before photo edits; it has no baseline and no composite settings).
READABLE_SCHEMAS = (1, 2)
APP_NAME = "regionpaint"
DOC_MEMBER = "doc.json"
PROJECT_SUFFIX = ".rpaint"

# zlib level for PNG members: close to the default level's size in about half the time.
_PNG_LEVEL = 4

# Bounds checked against the zip directory before any member is read, so a member that inflates to
# gigabytes (a zip bomb behind a valid doc.json) is refused without allocating it. An 8K photo PNG is
# ~100 MB; doc.json is a few kB.
MAX_MEMBER_BYTES = 256 * 1024 * 1024
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_DOC_JSON_BYTES = 8 * 1024 * 1024
MAX_MEMBERS = 4096


class ProjectError(DocumentError):
    """A project file could not be saved or opened; the message names the file and the problem."""


def builtin_label_sets() -> dict[str, LabelSet]:
    """The built-in label sets by id."""
    return {label_set.id: label_set for label_set in BUILTIN_LABEL_SETS}


def get_builtin_label_set(label_set_id: str) -> LabelSet | None:
    """The built-in label set with this id, or None."""
    return builtin_label_sets().get(label_set_id)


# -- saving --------------------------------------------------------------------------------
def _png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=_PNG_LEVEL)
    return buffer.getvalue()


def _label_member(array: np.ndarray, stem: str) -> tuple[str, bytes]:
    """uint8 -> 8-bit PNG, uint16 -> 16-bit PNG (Pillow writes mode I;16 as 16-bit grey)."""
    return f"{stem}.png", _png_bytes(array)


def _instance_member(array: np.ndarray, stem: str) -> tuple[str, bytes]:
    """16-bit PNG when every id fits, else .npy: Pillow cannot write 32-bit PNGs."""
    if array.size == 0 or (int(array.min()) >= 0 and int(array.max()) <= 65535):
        return f"{stem}.png", _png_bytes(array.astype(np.uint16))
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype=np.int32), allow_pickle=False)
    return f"{stem}.npy", buffer.getvalue()


def _mix_json(mix: StyleMix) -> list[list[Any]]:
    return [[name, weight] for name, weight in mix]


def _engine_json(engine: EngineSettings) -> dict[str, Any]:
    return {
        "engine_id": engine.engine_id,
        "checkpoint": engine.checkpoint,
        "options": dict(engine.options),
        "device": engine.device,
        "seed": engine.seed,
        "noise": engine.noise,
        "output_size": None if engine.output_size is None else list(engine.output_size),
        "package": engine.package,
        "package_version": engine.package_version,
    }


def project_members(doc: Document) -> dict[str, bytes]:
    """Every member of the project archive for ``doc``, ``doc.json`` first, encoded."""
    members: dict[str, bytes] = {}

    def add(name: str, data: bytes) -> str:
        members[name] = data
        return name

    roles: dict[str, str] = {"label": add(*_label_member(doc.label, "label"))}
    if doc.photo is not None:
        roles["photo"] = add("photo.png", _png_bytes(doc.photo))
    if doc.instance is not None:
        roles["instance"] = add(*_instance_member(doc.instance, "instance"))
    if doc.baseline is not None:
        roles["baseline"] = add(*_label_member(doc.baseline, "baseline"))
        if doc.baseline_instance is not None:
            roles["baseline_instance"] = add(*_instance_member(doc.baseline_instance, "baseline_instance"))
    if doc.last_render is not None:
        roles["render"] = add("render.png", _png_bytes(doc.last_render.image))
        if doc.last_render.raw is not None:
            roles["render_raw"] = add("render_raw.png", _png_bytes(doc.last_render.raw))

    def same_as(array: np.ndarray, role: str, layer: np.ndarray | None) -> str | None:
        # The photo's own style source is the photo: name its member rather than store it twice.
        if role in roles and layer is not None and (array is layer or np.array_equal(array, layer)):
            return roles[role]
        return None

    sources = []
    for number, (name, source) in enumerate(doc.style_sources.items()):
        stem = f"styles/{number}"
        image_member = same_as(source.image, "photo", doc.photo) or add(f"{stem}/image.png", _png_bytes(source.image))
        label_member = None
        if source.label is not None:
            label_member = same_as(source.label, "baseline", doc.baseline) or add(
                *_label_member(source.label, f"{stem}/label")
            )
        sources.append(
            {
                "name": name,
                "display_name": source.display_name,
                "image": image_member,
                "label": label_member,
                "instance": (
                    None if source.instance is None else add(*_instance_member(source.instance, f"{stem}/instance"))
                ),
            }
        )

    manifest = {
        "schema": SCHEMA_VERSION,
        "app": APP_NAME,
        "label_set": doc.label_set_id,
        "size": [doc.width, doc.height],
        "members": roles,
        "render_seconds": None if doc.last_render is None else doc.last_render.seconds,
        "engine": _engine_json(doc.engine),
        "style_sources": sources,
        "default_style": _mix_json(doc.default_style),
        "region_styles": [
            {"region": class_id, "mix": _mix_json(mix)} for class_id, mix in sorted(doc.region_styles.items())
        ],
        "crossover": dict(doc.crossover),
        "composite": {"mode": doc.composite.mode, "band": doc.composite.band, "harmonize": doc.composite.harmonize},
    }
    try:
        text = json.dumps(manifest, indent=2, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ProjectError(f"document settings cannot be written as JSON: {exc}") from exc
    return {DOC_MEMBER: text.encode("utf-8"), **members}


def project_roles(doc: Document) -> set[str]:
    """The member roles (``members`` in doc.json) a project of ``doc`` holds, without encoding anything."""
    roles = {"label"}
    roles.update(role for role, array in (("photo", doc.photo), ("instance", doc.instance)) if array is not None)
    if doc.baseline is not None:
        roles.add("baseline")
        if doc.baseline_instance is not None:
            roles.add("baseline_instance")
    if doc.last_render is not None:
        roles.add("render")
        if doc.last_render.raw is not None:
            roles.add("render_raw")
    return roles


def members_save_would_drop(doc: Document, path: PathLike) -> list[str]:
    """Members of the project at ``path`` that saving ``doc`` over it would not write (their names there).

    A save must never write less than the file it replaces without saying so (a document recovered without
    its baseline once replaced the project that had one). ``render_raw`` is not counted when compositing is
    off: the raw render is then the render itself. Anything unreadable at ``path`` (not a project, no file)
    gives an empty list: there is nothing to compare with.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(DOC_MEMBER)
            if info.file_size > MAX_DOC_JSON_BYTES:
                return []
            with archive.open(info) as member:
                manifest = untrusted.loads_json(member.read(MAX_DOC_JSON_BYTES + 1), f"{path}: {DOC_MEMBER}")
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error):
        return []
    members = manifest.get("members") if isinstance(manifest, dict) else None
    if not isinstance(members, dict):
        return []
    dropped = {role: name for role, name in members.items() if isinstance(name, str)}
    for role in project_roles(doc):
        dropped.pop(role, None)
    if doc.composite.mode == "off":
        dropped.pop("render_raw", None)
    return sorted(dropped.values())


def _write_archive(file: Any, members: Mapping[str, bytes]) -> None:
    with zipfile.ZipFile(file, "w") as archive:
        for name, data in members.items():
            # PNG members are deflated already; deflating them again costs time for nothing.
            compress = zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=compress)


def save_project(doc: Document, path: PathLike) -> None:
    """Write ``doc`` to a ``.rpaint`` file atomically.

    The archive goes to a temporary file beside ``path``, is flushed to disk, then replaces
    ``path`` in one rename; if anything fails, an existing file at ``path`` is untouched.
    """
    path = Path(path)
    try:
        members = project_members(doc)
    except ProjectError as exc:
        raise ProjectError(f"{path}: {exc}") from exc
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ProjectError(f"{path}: could not save: {write_error_words(path, exc)}") from exc
    try:
        with os.fdopen(handle, "wb") as file:
            _write_archive(file, members)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp_name, _file_mode(path))
        os.replace(temp_name, path)
    except BaseException as exc:
        _remove_quietly(temp_name)
        if isinstance(exc, OSError):
            raise ProjectError(f"{path}: could not save: {write_error_words(path, exc)}") from exc
        if isinstance(exc, Exception):
            raise ProjectError(f"{path}: could not save ({exc})") from exc
        raise
    _sync_folder(path.parent)
    log.info("saved %s (%d members)", path, len(members))


def _file_mode(path: Path) -> int:
    """Permissions for the saved file: those of the file it replaces, else rw-r--r--.

    mkstemp creates private (0600) files, which would silently tighten a shared project.
    """
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o644


def _remove_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        log.warning("could not remove temporary file %s", name)


def _sync_folder(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a folder, which is fine.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# -- opening -------------------------------------------------------------------------------
class _Problem(Exception):
    """A problem inside the archive; open_project prefixes it with the file name."""


def _is_safe_member_name(name: str) -> bool:
    if not name or name.startswith(("/", "\\")) or "\\" in name or ":" in name:
        return False
    return ".." not in name.split("/") and posixpath.normpath(name) == name.rstrip("/")


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise _Problem(f"{where} must be a number, got {value!r}")
    if not isinstance(value, kind):
        wanted = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _Problem(f"{where} must be {wanted}, got {type(value).__name__}")
    return value


class _Archive:
    """Reads members of an opened zip, turning every failure into a _Problem."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _Problem(f"the archive has {len(infos)} members; a project has at most {MAX_MEMBERS}")
        self.sizes = {info.filename: info.file_size for info in infos}
        self.names = set(self.sizes)
        unsafe = sorted(name for name in self.names if not _is_safe_member_name(name))
        if unsafe:
            raise _Problem(f"member name {unsafe[0]!r} escapes the archive")
        _check_sizes(self.sizes)
        # Decoded pixels, all images together: each is charged before it is decoded (a member named by many
        # style sources is charged each time), so thirty 100-megapixel PNGs of a few kB cannot take 9 GB.
        self.budget = limits.PixelBudget("project")

    def check_declared_pixels(self) -> None:
        """Refuse an archive whose images declare more pixels in all than a project may decode, from their
        headers alone (nothing is decoded yet)."""
        declared = {name: self._declared_pixels(name) for name in sorted(self.names) if name != DOC_MEMBER}
        images = [name for name, pixels in declared.items() if pixels]
        try:
            self.budget.check_total(sum(declared.values()), f"its {len(images)} images")
        except limits.PixelLimitError as exc:
            raise _Problem(str(exc)) from None

    def _declared_pixels(self, name: str) -> int:
        """Pixels member ``name`` declares in its header; 0 when it is no image (decoding it reports that)."""
        try:
            with self.archive.open(name) as member:
                if name.endswith(".npy"):
                    return math.prod(_npy_shape(member))
                with untrusted.open_image(member) as image:
                    return image.width * image.height
        except Exception:  # noqa: BLE001 - any damage is reported, with its member name, when it is decoded
            return 0

    def read(self, name: str, where: str) -> bytes:
        _expect(name, str, where)
        if not _is_safe_member_name(name):
            raise _Problem(f"{where} {name!r} escapes the archive")
        if name not in self.names:
            raise _Problem(f"{where} {name!r} is missing from the archive")
        limit = MAX_DOC_JSON_BYTES if name == DOC_MEMBER else MAX_MEMBER_BYTES
        try:
            # The directory's size was checked, and ZipExtFile never inflates past it; reading at most
            # limit + 1 bytes also bounds a member whose header lies about its size.
            with self.archive.open(name) as member:
                data = member.read(limit + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
            raise _Problem(f"member {name!r} is corrupt ({exc})") from exc
        except zlib.error as exc:
            raise _Problem(f"member {name!r} is corrupt ({exc})") from exc
        if len(data) > limit:
            raise _Problem(f"member {name!r} is larger than {_mib(limit)}; refusing to read it")
        return data

    def image(self, name: str, where: str) -> Image.Image:
        data = self.read(name, where)
        try:
            return open_image(io.BytesIO(data), source=name, budget=self.budget)
        except (ImportFileError, limits.PixelLimitError) as exc:
            raise _Problem(str(exc)) from exc

    def photo(self, name: str, where: str) -> np.ndarray:
        image = self.image(name, where)
        if image.mode != "RGB":
            raise _Problem(f"{name}: mode {image.mode}, expected RGB")
        return photo_from_image(image, name)

    def label(self, name: str, where: str) -> np.ndarray:
        image = self.image(name, where)
        if image.mode not in ("L", "P", "I;16", "I;16L", "I;16B"):
            raise _Problem(f"{name}: mode {image.mode}, expected an 8- or 16-bit index PNG")
        ids = index_from_image(image, name)
        return ids if ids.dtype == np.uint8 else ids.astype(np.uint16)

    def instance(self, name: str, where: str) -> np.ndarray:
        _expect(name, str, where)
        if name.endswith(".npy"):
            data = self.read(name, where)
            try:
                self.budget.spend(math.prod(_npy_shape(io.BytesIO(data))), name)
                array = np.load(io.BytesIO(data), allow_pickle=False)
            except limits.PixelLimitError as exc:
                raise _Problem(str(exc)) from exc
            except (ValueError, OSError, EOFError) as exc:
                raise _Problem(f"{name}: not a valid .npy array ({exc})") from exc
            if array.ndim != 2 or array.dtype != np.int32:
                raise _Problem(f"{name}: expected a 2-D int32 array, got shape {array.shape} {array.dtype}")
            return array
        return instance_from_image(self.image(name, where), name)


def _npy_shape(stream: Any) -> tuple[int, ...]:
    """The shape a ``.npy`` stream declares, from its header alone (ValueError when it has none)."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return tuple(np.lib.format.read_array_header_1_0(stream)[0])
    return tuple(np.lib.format.read_array_header_2_0(stream)[0])


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MiB"


def _check_sizes(sizes: Mapping[str, int]) -> None:
    """Refuse members (and a sum) larger than a project can hold, from the zip directory alone."""
    for name, size in sizes.items():
        limit = MAX_DOC_JSON_BYTES if name == DOC_MEMBER else MAX_MEMBER_BYTES
        if size > limit:
            raise _Problem(
                f"member {name!r} would inflate to {_mib(size)}, more than the {_mib(limit)} a project member "
                "may hold (a damaged or hostile file); refusing to read it"
            )
    total = sum(sizes.values())
    if total > MAX_TOTAL_BYTES:
        raise _Problem(
            f"members would inflate to {_mib(total)} in all, more than the {_mib(MAX_TOTAL_BYTES)} a project "
            "may hold; refusing to read it"
        )


def _read_manifest(archive: _Archive) -> dict[str, Any]:
    if DOC_MEMBER not in archive.names:
        raise _Problem(f"{DOC_MEMBER} is missing; not a regionpaint project")
    try:
        # Bounded depth and number size: a 100,000-level doc.json is one line, not a RecursionError.
        manifest = untrusted.loads_json(archive.read(DOC_MEMBER, DOC_MEMBER), DOC_MEMBER)
    except untrusted.UntrustedFileError as exc:
        raise _Problem(str(exc)) from None
    _expect(manifest, dict, DOC_MEMBER)
    if manifest.get("app") != APP_NAME:
        raise _Problem(f"{DOC_MEMBER} was not written by {APP_NAME} (app = {manifest.get('app')!r})")
    schema = manifest.get("schema")
    if isinstance(schema, int) and not isinstance(schema, bool) and schema > SCHEMA_VERSION:
        raise _Problem(f"written by a newer {APP_NAME} (schema {schema}); this version reads schema {SCHEMA_VERSION}")
    if schema not in READABLE_SCHEMAS or isinstance(schema, bool):
        raise _Problem(f"unknown schema version {schema!r}")
    return manifest


def _engine_settings(value: Any) -> EngineSettings:
    data = _expect(value, dict, "engine")
    size = data.get("output_size")
    try:
        return EngineSettings(
            engine_id=_expect(data.get("engine_id", ""), str, "engine.engine_id"),
            checkpoint=_expect(data.get("checkpoint", ""), str, "engine.checkpoint"),
            options=_expect(data.get("options", {}), dict, "engine.options"),
            device=_expect(data.get("device", "auto"), str, "engine.device"),
            seed=_expect(data.get("seed", 0), int, "engine.seed"),
            noise=_expect(data.get("noise", True), bool, "engine.noise"),
            output_size=None if size is None else tuple(_expect(size, list, "engine.output_size")),
            # Added later: files without them still open.
            package=_expect(data.get("package", ""), str, "engine.package"),
            package_version=_expect(data.get("package_version", ""), str, "engine.package_version"),
        )
    except DocumentError as exc:
        raise _Problem(f"engine: {exc}") from exc
    except (TypeError, ValueError) as exc:  # e.g. an output_size that is not a pair
        raise _Problem(f"engine settings are malformed ({exc})") from exc


def _composite_settings(value: Any) -> CompositeSettings:
    data = _expect(value, dict, "composite")
    try:
        return CompositeSettings(
            mode=_expect(data.get("mode", "feather"), str, "composite.mode"),
            band=_expect(data.get("band", CompositeSettings.band), int, "composite.band"),
            harmonize=_expect(data.get("harmonize", False), bool, "composite.harmonize"),
        )
    except DocumentError as exc:
        raise _Problem(str(exc)) from exc


def _mix(value: Any, sources: Mapping[str, Any], where: str, allow_empty: bool = False) -> StyleMix:
    pairs = _expect(value, list, where)
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
            raise _Problem(f"{where} must be a list of [source name, weight] pairs")
        _expect(pair[1], (int, float), f"{where} weight")
    try:
        return check_style_mix(pairs, sources, allow_empty=allow_empty, where=where)
    except DocumentError as exc:
        raise _Problem(str(exc)) from exc


def _style_sources(
    archive: _Archive, value: Any, label_set: LabelSet, shared: Mapping[str, np.ndarray] | None = None
) -> dict[str, StyleSourceData]:
    """The style sources; ``shared`` maps member names already read (photo, baseline) to their arrays,
    so a source that names them shares the document's array."""
    shared = dict(shared or {})
    sources: dict[str, StyleSourceData] = {}
    for number, entry in enumerate(_expect(value, list, "style_sources")):
        where = f"style_sources[{number}]"
        _expect(entry, dict, where)
        name = _expect(entry.get("name"), str, f"{where}.name")
        if not name or name in sources:
            raise _Problem(f"{where}.name {name!r} is empty or repeated")
        image_name, label_name = entry.get("image"), entry.get("label")
        image = shared[image_name] if image_name in shared else archive.photo(image_name, f"{where}.image")
        if label_name is None:
            label = None
        else:
            label = shared[label_name] if label_name in shared else archive.label(label_name, f"{where}.label")
        instance = None if entry.get("instance") is None else archive.instance(entry["instance"], f"{where}.instance")
        if label is not None:
            _check_ids(label_set, label, entry["label"])
        try:
            sources[name] = StyleSourceData(
                image, label, instance, _expect(entry.get("display_name", ""), str, f"{where}.display_name")
            )
        except DocumentError as exc:  # e.g. a label map of another size than its photo
            raise _Problem(f"{where}: {exc}") from exc
    return sources


def _check_ids(label_set: LabelSet, ids: np.ndarray, member: str) -> None:
    try:
        label_set.check_ids(ids, source=member)
    except LabelIdError as exc:
        raise _Problem(str(exc)) from exc


def _region_styles(value: Any, sources: Mapping[str, Any], label_set: LabelSet) -> dict[int, StyleMix]:
    styles: dict[int, StyleMix] = {}
    valid = set(int(v) for v in label_set.valid_ids())
    for number, entry in enumerate(_expect(value, list, "region_styles")):
        where = f"region_styles[{number}]"
        _expect(entry, dict, where)
        region = _expect(entry.get("region"), int, f"{where}.region")
        if region not in valid:
            raise _Problem(f"{where}.region {region} is not a class of label set {label_set.id}")
        styles[region] = _mix(entry.get("mix"), sources, f"{where}.mix")
    return styles


def _crossover(value: Any, sources: Mapping[str, Any]) -> dict[str, str]:
    crossover = _expect(value, dict, "crossover")
    for block, source in crossover.items():
        if not isinstance(source, str) or source not in sources:
            raise _Problem(f"crossover block {block!r} refers to unknown style source {source!r}")
    return dict(crossover)


def _document(archive: _Archive, manifest: dict[str, Any], label_sets: Mapping[str, LabelSet]) -> Document:
    label_set_id = _expect(manifest.get("label_set"), str, "label_set")
    label_set = label_sets.get(label_set_id)
    if label_set is None:
        raise _Problem(f"label set {label_set_id!r} is not available (is its plugin installed?)")
    members = _expect(manifest.get("members"), dict, "members")
    if "label" not in members:
        raise _Problem("members has no label map")
    label = archive.label(members["label"], "members.label")
    _check_ids(label_set, label, members["label"])
    photo = None if members.get("photo") is None else archive.photo(members["photo"], "members.photo")
    instance = None if members.get("instance") is None else archive.instance(members["instance"], "members.instance")
    size = manifest.get("size")
    if size is not None and not (
        isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in size)
    ):
        raise _Problem(f"size must be [width, height] in pixels, got {json.dumps(size)[:60]}")
    if size is not None and list(size) != [label.shape[1], label.shape[0]]:
        raise _Problem(
            f"doc.json says the image is {size[0]}x{size[1]} but {members['label']} is "
            f"{label.shape[1]}x{label.shape[0]}"
        )
    try:
        doc = Document(label, label_set_id, photo=photo, instance=instance, names=members)
    except DocumentError as exc:
        raise _Problem(str(exc)) from exc

    baseline = None if members.get("baseline") is None else archive.label(members["baseline"], "members.baseline")
    baseline_instance = None
    if baseline is not None:
        _check_ids(label_set, baseline, members["baseline"])
        if members.get("baseline_instance") is not None:
            baseline_instance = archive.instance(members["baseline_instance"], "members.baseline_instance")
        try:
            doc.set_baseline(baseline, baseline_instance)
        except DocumentError as exc:
            raise _Problem(str(exc)) from exc
    shared = {
        members[role]: array
        for role, array in (("photo", doc.photo), ("baseline", doc.baseline))
        if isinstance(members.get(role), str) and array is not None
    }
    sources = _style_sources(archive, manifest.get("style_sources", []), label_set, shared)
    doc.replace_fields(
        style_sources=sources,
        default_style=_mix(manifest.get("default_style", []), sources, "default_style", allow_empty=True),
        region_styles=_region_styles(manifest.get("region_styles", []), sources, label_set),
        crossover=_crossover(manifest.get("crossover", {}), sources),
        engine=_engine_settings(manifest.get("engine", {})),
        composite=_composite_settings(manifest.get("composite", {})),
    )
    if members.get("render") is not None:
        seconds = _expect(manifest.get("render_seconds", 0.0), (int, float), "render_seconds")
        if isinstance(seconds, int) and abs(seconds) > 1e12:  # math.isfinite overflows on huge integers
            raise _Problem(f"render_seconds {seconds} is not a duration")
        if not math.isfinite(seconds):
            raise _Problem(f"render_seconds {seconds!r} is not a number")
        raw = None if members.get("render_raw") is None else archive.photo(members["render_raw"], "members.render_raw")
        doc.set_render(archive.photo(members["render"], "members.render"), float(seconds), raw)
    return doc


def open_project(path: PathLike, label_sets: Mapping[str, LabelSet] | None = None) -> Document:
    """Open and validate a ``.rpaint`` file.

    ``label_sets`` maps label set ids to label sets (the plugin registry's); by default the
    built-in ones. Raises :class:`ProjectError` naming ``path`` and the problem.
    """
    path = Path(path)
    label_sets = builtin_label_sets() if label_sets is None else label_sets
    try:
        # Regular files only: zipfile's own open() of a FIFO would block (the editor's UI thread) forever.
        with untrusted.open_regular(path) as handle, zipfile.ZipFile(handle) as zipped:
            archive = _Archive(zipped)
            manifest = _read_manifest(archive)
            archive.check_declared_pixels()
            doc = _document(archive, manifest, label_sets)
    except untrusted.UntrustedFileError as exc:
        raise ProjectError(str(exc)) from None
    except FileNotFoundError as exc:
        raise ProjectError(f"{path}: no such file") from exc
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ProjectError(f"{path}: not a {PROJECT_SUFFIX} project (not a zip archive, or truncated)") from exc
    except OSError as exc:
        raise ProjectError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except _Problem as exc:
        raise ProjectError(f"{path}: {exc}") from exc
    except MemoryError as exc:
        raise ProjectError(f"{path}: too large to open in the memory available") from exc
    _resolve_checkpoint_beside(doc, path)
    log.info("opened %s", path)
    return doc


def _resolve_checkpoint_beside(doc: Document, path: Path) -> None:
    """A relative checkpoint path names a file beside the project (how the bundled demos travel).

    It is made absolute when it exists there; otherwise it is left as it is (relative to the working
    folder, as typed on a command line). Not an edit: the history is untouched.
    """
    checkpoint = doc.engine.checkpoint
    if checkpoint and not Path(checkpoint).is_absolute() and (path.parent / checkpoint).exists():
        doc.replace_fields(engine=doc.engine.replaced(checkpoint=str((path.parent / checkpoint).resolve())))
