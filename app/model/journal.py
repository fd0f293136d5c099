"""The edit journal: an append-only file of the document's state changes, flushed after every edit.

A journal starts with a ``base`` record: the whole document as it was when it was last clean (opened or
saved), every member a project holds (photo, label and instance maps, the baseline and its instance map,
style sources, the last render and the network output behind it) and every setting (engine, styles,
crossover, composite). Then one ``edit`` record per finished edit (a stroke, a fill, a style, engine or
composite change, an undo or redo), so a crash loses at most the edit in progress. Records hold
*absolute* values: the pixels of the box that changed (as they are now, not a diff) and the whole small
settings, so replaying more records than needed is harmless, and replaying from an older snapshot (the
autosave ``.rpaint``) gives the same result. Each edit record also says how the undo history moved (a
step pushed with its title, an undo, a redo), so recovery rebuilds the history panel and Ctrl+Z works.
Every record names the document it belongs to (``doc``, a key the editor gives each document it opens):
a journal is never replayed onto another document.

Framing: ``RPJ1`` once, then per record ``b"R"``, payload length (u32 LE), CRC-32 of the payload
(u32 LE), payload = one JSON line + the raw bytes of the arrays it lists. A record torn by a crash
(short, at the end of the file) ends the replay: everything before it is kept. A damaged record (a
valid frame whose header cannot be read, a wrong CRC with records after it) also ends the replay, and
:func:`read_journal` says so, so that the caller can keep the file aside rather than delete it.
No Qt, no torch, no pickle: arrays are raw bytes described by dtype and shape; the JSON header is read
with :func:`regionpaint.untrusted.loads_json` (bounded depth and numbers).
"""

from __future__ import annotations

import json
import logging
import os
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from regionpaint.untrusted import UntrustedFileError, loads_json

from .document import (
    CompositeSettings,
    Document,
    DocumentError,
    EngineSettings,
    StyleSourceData,
    check_style_mix,
)
from .history import ArrayPatch, Box, CompoundCommand

log = logging.getLogger(__name__)

MAGIC = b"RPJ1"
_FRAME = struct.Struct("<cII")  # b"R", payload length, CRC-32
#: Refuse records larger than this when reading (a damaged length must not allocate gigabytes).
MAX_RECORD_BYTES = 1024 * 1024 * 1024
#: Layers of the base record that are pixel arrays (None when the document has none).
_BASE_ARRAYS = ("label", "instance", "photo", "baseline", "baseline_instance")
#: History moves an edit record can carry (``lost``: several moves between two records; the history
#: cannot be rebuilt past it, so recovery clears it there).
HISTORY_OPS = ("push", "undo", "redo", "clear", "lost")


class JournalError(DocumentError):
    """A journal that cannot be written or read at all (the message names the file)."""


@dataclass
class Record:
    seq: int
    kind: str
    header: dict[str, Any]
    arrays: list[np.ndarray] = field(default_factory=list)

    @property
    def document(self) -> str | None:
        """The key of the document the record belongs to (None in journals written before keys existed)."""
        value = self.header.get("doc")
        return value if isinstance(value, str) else None


@dataclass
class JournalContents:
    """What :func:`read_journal` found: the intact records, and why reading stopped early (None when it
    reached the end, or a record torn by the crash)."""

    records: list[Record]
    problem: str | None = None


# -- encoding ------------------------------------------------------------------------------
def _composite_json(settings: CompositeSettings) -> dict[str, Any]:
    return {"mode": settings.mode, "band": settings.band, "harmonize": settings.harmonize}


def _settings(doc: Document) -> dict[str, Any]:
    """The document's small settings as JSON-ready data (the same fields a project's doc.json holds)."""
    from .project import _engine_json, _mix_json  # one JSON form for projects and the journal

    return {
        "engine": _engine_json(doc.engine),
        "default_style": _mix_json(doc.default_style),
        "region_styles": [[class_id, _mix_json(mix)] for class_id, mix in sorted(doc.region_styles.items())],
        "crossover": dict(doc.crossover),
        "composite": _composite_json(doc.composite),
    }


def _settings_fields(doc: Document, data: Mapping[str, Any]) -> dict[str, Any]:
    """The document fields ``data`` (a record's settings) describes, checked as a project's are."""
    engine = dict(data["engine"])
    size = engine.get("output_size")
    engine["output_size"] = None if size is None else tuple(size)
    sources = doc.style_sources
    fields: dict[str, Any] = {
        "engine": EngineSettings(**engine),
        "default_style": check_style_mix(data["default_style"], sources, allow_empty=True, where="default style"),
        "region_styles": {
            int(class_id): check_style_mix(mix, sources, where=f"region {class_id} style")
            for class_id, mix in data["region_styles"]
        },
        "crossover": {str(block): str(source) for block, source in dict(data["crossover"]).items()},
    }
    if "composite" in data:  # journals written before composites were journaled keep the document's
        fields["composite"] = CompositeSettings(**dict(data["composite"]))
    return fields


class _Payload:
    """Collects a record's header and arrays."""

    def __init__(self, seq: int, kind: str, document: str, share_equal: bool = False):
        self.header: dict[str, Any] = {"seq": seq, "kind": kind, "doc": document, "arrays": []}
        self.arrays: list[np.ndarray] = []
        self._given: list[np.ndarray] = []
        # The base: a style source made from the photo holds the photo, the baseline and its instance map
        # again (often as copies, from a project); writing each once keeps the base ~16 MB smaller at 2048².
        self._share_equal = share_equal

    def add(self, array: np.ndarray) -> int:
        for index, given in enumerate(self._given):
            if given is array or (
                self._share_equal
                and given.shape == array.shape
                and given.dtype == array.dtype
                and np.array_equal(given, array)
            ):
                return index  # decoded once, the same array for both (documents copy the layers they edit)
        self._given.append(array)
        array = np.ascontiguousarray(array)
        self.header["arrays"].append([array.dtype.str, list(array.shape)])
        self.arrays.append(array)
        return len(self.arrays) - 1

    def add_optional(self, array: np.ndarray | None) -> int | None:
        return None if array is None else self.add(array)

    def encode(self) -> bytes:
        head = json.dumps(self.header, separators=(",", ":"), allow_nan=False).encode("utf-8")
        return b"".join([head, b"\n", *(array.tobytes() for array in self.arrays)])


def _decode(payload: bytes, source: str) -> Record:
    """One record from its payload; ValueError (UntrustedFileError included) when it cannot be read."""
    newline = payload.find(b"\n")
    if newline < 0:
        raise ValueError("no header line")
    header = loads_json(payload[:newline], source)
    if not isinstance(header, dict) or not isinstance(header.get("arrays"), list):
        raise ValueError("the header is not a record header")
    seq, kind = header.get("seq"), header.get("kind")
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(kind, str):
        raise ValueError("the record has no sequence number or kind")
    arrays = []
    offset = newline + 1
    for entry in header["arrays"]:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise ValueError(f"array description {str(entry)[:40]}")
        dtype_text, shape = entry
        if not (isinstance(shape, list) and all(isinstance(n, int) and 0 <= n <= MAX_RECORD_BYTES for n in shape)):
            raise ValueError(f"array shape {str(shape)[:40]}")
        dtype = np.dtype(dtype_text)
        if dtype.kind not in "uib" or dtype.hasobject:
            raise ValueError(f"array dtype {dtype_text!r}")
        items = 1
        for n in shape:
            items *= n  # Python ints: a forged shape cannot overflow, only fail the bounds check below
        count = items * dtype.itemsize
        if offset + count > len(payload):
            raise ValueError("array outside the record")
        arrays.append(np.frombuffer(payload, dtype, items, offset).reshape(shape).copy())
        offset += count
    return Record(seq, kind, header, arrays)


def read_journal(path: Path) -> JournalContents:
    """Every intact record of a journal, oldest first, and why reading stopped before the end, if it did.

    A record torn by the crash (the last one, short or with a wrong CRC) is not a problem: the crash
    interrupted it. Anything else that stops the reading is: a damaged frame, a record whose header
    cannot be read (nesting too deep, a number too large, bad JSON), a wrong CRC with more data after it.
    Raises :class:`JournalError` when the file cannot be opened.
    """
    records: list[Record] = []
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return JournalContents(records)
    except OSError as exc:
        raise JournalError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    with handle:
        if handle.read(len(MAGIC)) != MAGIC:
            return JournalContents(records, "it is not an edit journal")
        while True:
            frame = handle.read(_FRAME.size)
            if not frame:
                break
            where = f"record {len(records) + 1}"
            if len(frame) < _FRAME.size:
                log.info("%s: torn record header after %d records", path, len(records))
                break
            mark, length, crc = _FRAME.unpack(frame)
            if mark != b"R" or length > MAX_RECORD_BYTES:
                if not (frame + handle.read()).strip(b"\0"):
                    break  # zeros past the end: the file system's tail after a power cut, not a record
                return JournalContents(records, f"{where} is damaged (no record starts there)")
            payload = handle.read(length)
            if len(payload) < length:
                log.info("%s: torn last record after %d records", path, len(records))
                break
            if zlib.crc32(payload) != crc:
                if not handle.read(1):
                    log.info("%s: torn last record after %d records", path, len(records))
                    break
                return JournalContents(records, f"{where} is damaged (its checksum does not match)")
            try:
                records.append(_decode(payload, where))
            except UntrustedFileError as exc:  # its message starts with ``where``
                return JournalContents(records, str(exc))
            except (ValueError, TypeError, OverflowError, MemoryError) as exc:
                return JournalContents(records, f"{where} cannot be decoded ({exc})")
    return JournalContents(records)


def read_records(path: Path) -> list[Record]:
    """Every intact record of a journal, oldest first; reading stops at the first torn or damaged one."""
    contents = read_journal(path)
    if contents.problem:
        log.warning("%s: %s; the records before it are kept", path, contents.problem)
    return contents.records


# -- writing -------------------------------------------------------------------------------
def _sources_key(doc: Document) -> tuple[tuple[str, int], ...]:
    return _sources_key_of(doc.style_sources)


@dataclass
class _Clean:
    """The document as it was when it was last clean (opened, saved or recovered): the journal's base."""

    layers: dict[str, np.ndarray | None]
    settings: dict[str, Any]
    sources: dict[str, StyleSourceData]
    photo: np.ndarray | None
    baseline: tuple[np.ndarray | None, np.ndarray | None]
    history_count: int


class EditJournal:
    """Appends the document's changes to ``path``; :meth:`start` writes the base, :meth:`record` each edit.

    :meth:`prime` notes the clean document (a copy of its pixel layers; the other fields are replaced,
    never changed in place), so that the base written at the first unsaved edit is the document *before*
    it and the first edit is an undoable step of its own. Keeps a copy of the pixel layers as last
    journaled (to find the changed box of any edit, undo or redo without knowing the command), and the
    last settings, style sources, photo and baseline written. ``document`` is the key written into every
    record: the editor gives each document it opens its own.
    """

    def __init__(self, path: Path, document: str = ""):
        self.path = Path(path)
        self.document = document
        self.seq = 0
        self._handle: Any = None
        self._layers: dict[str, np.ndarray | None] = {}
        self._settings: dict[str, Any] | None = None
        self._sources: tuple[tuple[str, int], ...] = ()
        self._photo: np.ndarray | None = None
        self._baseline: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
        self._history_count = 0
        self._clean: _Clean | None = None
        self._base_bytes = 0

    @property
    def started(self) -> bool:
        return self._handle is not None

    def prime(self, doc: Document) -> None:
        """Note ``doc`` as it is now (clean) as the base of the next journal."""
        self._clean = _Clean(
            {name: None if getattr(doc, name) is None else getattr(doc, name).copy() for name in ("label", "instance")},
            _settings(doc),
            dict(doc.style_sources),
            doc.photo,
            (doc.baseline, doc.baseline_instance),
            doc.history.change_count,
        )

    def start(self, doc: Document) -> None:
        """Begin a new journal whose base is the document as primed (else as it is now).

        The file is written beside ``path`` and renamed over it: a crash while starting leaves the
        previous journal as it was, never an empty one.
        """
        self.close()
        clean = self._clean
        if clean is None or clean.layers["label"] is None or clean.layers["label"].shape != doc.label.shape:
            self.prime(doc)
            clean = self._clean
        assert clean is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.seq += 1
        payload = _Payload(self.seq, "base", self.document, share_equal=True)
        payload.header["label_set"] = doc.label_set_id
        arrays = {**clean.layers, "photo": clean.photo, "baseline": clean.baseline[0]}
        arrays["baseline_instance"] = clean.baseline[1]
        for name in _BASE_ARRAYS:
            payload.header[name] = payload.add_optional(arrays[name])
        render = doc.last_render  # not part of the history: the newest one is the one to keep
        if render is not None:
            payload.header["render"] = payload.add(render.image)
            payload.header["render_raw"] = payload.add_optional(render.raw)
            payload.header["render_seconds"] = render.seconds
        payload.header["settings"] = clean.settings
        payload.header["sources"] = self._encode_sources(clean.sources, payload)
        data = _frame(payload.encode())
        temp = self.path.with_name(self.path.name + ".new")
        try:
            with open(temp, "wb") as out:
                out.write(MAGIC + data)
            os.replace(temp, self.path)
        except BaseException:
            temp.unlink(missing_ok=True)  # a full disk: no half-written base left beside the journal
            raise
        self._handle = open(self.path, "ab", buffering=0)
        self._base_bytes = len(MAGIC) + len(data)
        self._layers = clean.layers
        self._settings = clean.settings
        self._sources = _sources_key_of(clean.sources)
        self._photo = clean.photo
        self._baseline = clean.baseline
        self._history_count = clean.history_count
        self._clean = None  # the copies are the journal's now; record() keeps them up to date

    def record(self, doc: Document) -> bool:
        """Append what changed since the last record, and how the history moved; False when nothing did (or
        no journal is open)."""
        if self._handle is None:
            return False
        payload = _Payload(self.seq + 1, "edit", self.document)
        changed = False
        for name in ("label", "instance"):
            entry = self._layer_change(name, getattr(doc, name), payload)
            if entry is not None:
                payload.header[name] = entry
                changed = True
        settings = _settings(doc)
        if settings != self._settings:
            payload.header["settings"] = settings
            changed = True
        if _sources_key(doc) != self._sources:
            payload.header["sources"] = self._encode_sources(doc.style_sources, payload)
            changed = True
        if doc.photo is not self._photo:
            payload.header["photo"] = payload.add_optional(doc.photo)
            changed = True
        if doc.baseline is not self._baseline[0] or doc.baseline_instance is not self._baseline[1]:
            payload.header["baseline"] = payload.add_optional(doc.baseline)
            payload.header["baseline_instance"] = payload.add_optional(doc.baseline_instance)
            changed = True
        history = doc.history
        if history.change_count != self._history_count:
            moves = history.change_count - self._history_count
            how, title = history.last_change if moves == 1 else ("lost", "")
            payload.header["history"] = {"op": how, "title": title}
            changed = True
        if not changed:
            return False
        self.seq += 1
        self._remember(doc)
        self._append(payload)
        return True

    @property
    def bytes_since_base(self) -> int:
        """How much the edits after the base take in the file (compaction drops them, and the history with them)."""
        return max(0, self.size_bytes() - self._base_bytes)

    def compact(self, through_seq: int) -> None:
        """Drop the records a snapshot now holds (``seq <= through_seq``), keeping the later ones."""
        if self._handle is None:
            return
        kept = [record for record in read_records(self.path) if record.seq > through_seq]
        temp = self.path.with_name(self.path.name + ".tmp")
        with open(temp, "wb") as out:
            out.write(MAGIC)
            for record in kept:
                payload = _Payload(record.seq, record.kind, self.document)
                payload.header = record.header
                payload.arrays = record.arrays
                out.write(_frame(payload.encode()))
            out.flush()
            os.fsync(out.fileno())
        self._handle.close()
        os.replace(temp, self.path)
        self._handle = open(self.path, "ab", buffering=0)
        self._base_bytes = len(MAGIC)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def remove(self) -> None:
        """Close and delete the journal (the document is saved, or was closed cleanly)."""
        self.close()
        self.path.unlink(missing_ok=True)
        self._layers = {}
        self._base_bytes = 0

    def size_bytes(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    # -- helpers -----------------------------------------------------------------------------
    def _append(self, payload: _Payload) -> None:
        # Unbuffered: one write() per record, so the bytes are with the OS (and survive kill -9) on return.
        self._handle.write(_frame(payload.encode()))

    def _remember(self, doc: Document) -> None:
        # The layer copies were brought up to date box by box.
        self._settings = _settings(doc)
        self._sources = _sources_key(doc)
        self._photo = doc.photo
        self._baseline = (doc.baseline, doc.baseline_instance)
        self._history_count = doc.history.change_count

    def _layer_change(self, name: str, current: np.ndarray | None, payload: _Payload) -> dict[str, Any] | None:
        previous = self._layers.get(name)
        if current is None:
            self._layers[name] = None
            return None if previous is None else {"absent": True}
        if previous is None or previous.shape != current.shape or previous.dtype != current.dtype:
            self._layers[name] = current.copy()
            return {"full": True, "array": payload.add(current)}
        box = Box.of_mask(previous != current)
        if box is None:
            return None
        crop = current[box.slices].copy()
        previous[box.slices] = crop  # the copy follows the document without copying the whole layer
        return {"box": list(box), "array": payload.add(crop)}

    def _encode_sources(self, sources: Mapping[str, StyleSourceData], payload: _Payload) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "display_name": source.display_name,
                "image": payload.add(source.image),
                "label": payload.add_optional(source.label),
                "instance": payload.add_optional(source.instance),
            }
            for name, source in sources.items()
        ]


def _sources_key_of(sources: Mapping[str, StyleSourceData]) -> tuple[tuple[str, int], ...]:
    return tuple((name, id(source)) for name, source in sources.items())


def _frame(payload: bytes) -> bytes:
    return _FRAME.pack(b"R", len(payload), zlib.crc32(payload)) + payload


# -- replaying -----------------------------------------------------------------------------
@dataclass
class Replay:
    """What :func:`replay_journal` rebuilt: the document (None when nothing gave one), how many records it
    applied, and why it stopped before the last one (None when it did not)."""

    document: Document | None
    applied: int
    problem: str | None = None


class _Unchanged:
    """A history step whose change the journal did not hold (nothing to undo; the title keeps its place)."""

    def __init__(self, title: str):
        self.title = title

    def undo(self) -> None:
        pass

    def redo(self) -> None:
        pass

    def nbytes(self) -> int:
        return 0


def _array(record: Record, index: Any) -> np.ndarray | None:
    if index is None:
        return None
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(record.arrays):
        raise ValueError(f"array index {str(index)[:20]}")
    return record.arrays[index]


def _decode_sources(record: Record, entries: list[dict[str, Any]]) -> dict[str, StyleSourceData]:
    sources = {}
    for entry in entries:
        name, display = entry["name"], entry["display_name"]
        if not isinstance(name, str) or not isinstance(display, str):
            raise ValueError("a style source name is not text")
        image = _array(record, entry["image"])
        if image is None:
            raise ValueError(f"style source {name!r} has no image")
        label, instance = _array(record, entry["label"]), _array(record, entry["instance"])
        sources[name] = StyleSourceData(image, label, instance, display)
    return sources


def _base_document(record: Record) -> Document:
    header = record.header
    label = _array(record, header["label"])
    if label is None:
        raise ValueError("the base has no label map")
    photo, instance = _array(record, header.get("photo")), _array(record, header.get("instance"))
    doc = Document(label, header["label_set"], photo=photo, instance=instance)
    baseline = _array(record, header.get("baseline"))
    if baseline is not None:
        doc.set_baseline(baseline, _array(record, header.get("baseline_instance")))
    doc.replace_fields(style_sources=_decode_sources(record, header["sources"]))
    doc.replace_fields(**_settings_fields(doc, header["settings"]))
    render = _array(record, header.get("render"))
    if render is not None:
        seconds = header.get("render_seconds", 0.0)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ValueError("render_seconds is not a number")
        doc.set_render(render, float(seconds), _array(record, header.get("render_raw")))
    return doc


def _checked_layer(name: str, array: np.ndarray) -> np.ndarray:
    from .document import as_instance_array, as_label_array

    return as_label_array(array) if name == "label" else as_instance_array(array)


def _apply_layer(doc: Document, name: str, entry: Mapping[str, Any], record: Record) -> tuple[ArrayPatch | None, bool]:
    """Write a record's pixels into the layer ``name``; returns the undoable patch of the change and whether
    an undo can express it at all (a layer removed or resized cannot be)."""
    if entry.get("absent"):
        setattr(doc, name, None)
        return None, False
    crop = _checked_layer(name, _array(record, entry["array"]))
    layer = getattr(doc, name)
    if entry.get("full") or layer is None:
        if layer is None or layer.shape != crop.shape:
            if crop.shape != doc.label.shape and name != "label":
                raise ValueError(f"{name} is {crop.shape[1]}x{crop.shape[0]}, the document {doc.width}x{doc.height}")
            setattr(doc, name, crop.copy())
            return None, False
        box = Box(0, 0, layer.shape[1], layer.shape[0])
    else:
        box = Box(*(int(v) for v in entry["box"]))
        if not (0 <= box.x0 < box.x1 <= layer.shape[1] and 0 <= box.y0 < box.y1 <= layer.shape[0]):
            raise ValueError(f"box {list(box)} outside the {name}")
        if crop.shape != (box.height, box.width):
            raise ValueError(f"the {name} crop does not fill its box")
    if crop.dtype != layer.dtype:
        layer = layer.astype(np.result_type(layer.dtype, crop.dtype))
        setattr(doc, name, layer)
    before = layer[box.slices].copy()
    layer[box.slices] = crop
    return ArrayPatch.capture(name, box, before, crop), True


def _apply_edit(doc: Document, record: Record) -> tuple[list[Any], bool]:
    """Apply an edit record; returns the commands that undo and redo it, and whether they express all of it."""
    from .edits import FieldsCommand, PixelEditCommand

    header = record.header
    commands: list[Any] = []
    expressible = True
    patches = []
    for name in ("label", "instance"):
        if name in header:
            patch, undoable = _apply_layer(doc, name, header[name], record)
            expressible = expressible and undoable
            if patch is not None:
                patches.append(patch)
    if patches:
        commands.append(PixelEditCommand(doc, "", patches))
    if "photo" in header:  # what the document is made from: not an undo step in the editor either
        doc.photo = None if header["photo"] is None else _checked_photo(doc, _array(record, header["photo"]))
    if "baseline" in header:
        doc.set_baseline(_array(record, header["baseline"]), _array(record, header.get("baseline_instance")))
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if "sources" in header:
        before["style_sources"], after["style_sources"] = doc.style_sources, _decode_sources(record, header["sources"])
        doc.replace_fields(style_sources=after["style_sources"])
    if "settings" in header:
        for name, value in _settings_fields(doc, header["settings"]).items():
            if getattr(doc, name) != value:
                before[name], after[name] = getattr(doc, name), value
                doc.replace_fields(**{name: value})
    if after:
        commands.append(FieldsCommand(doc, "", before, after))
    return commands, expressible


def _checked_photo(doc: Document, photo: np.ndarray | None) -> np.ndarray:
    from .document import as_photo_array

    photo = as_photo_array(photo)
    if photo.shape[:2] != doc.label.shape:
        raise ValueError("the photo is not the document's size")
    return photo


def _move_history(doc: Document, move: Any, pending: list[Any], expressible: bool) -> None:
    """Replay a history move: a push makes the changes since the last move one undoable step."""
    history = doc.history
    if not isinstance(move, dict) or move.get("op") not in HISTORY_OPS:
        raise ValueError(f"history move {str(move)[:40]}")
    op, title = move["op"], str(move.get("title", ""))
    if op == "push":
        if not expressible:  # an undo could not give back what came before: no step may claim it can
            history.clear()
            return
        step = pending[0] if len(pending) == 1 else CompoundCommand(title, pending) if pending else _Unchanged(title)
        step.title = title
        history.push(step)
    elif op == "undo" and history.can_undo:
        history.undo()  # the record already wrote the same pixels and settings back; this moves the stack
    elif op == "redo" and history.can_redo:
        history.redo()
    elif op in ("clear", "lost"):
        history.clear()


def replay_journal(records: list[Record], snapshot: Document | None, snapshot_seq: int = 0) -> Replay:
    """The document the records describe, with its undo history, on top of ``snapshot`` (which holds every
    record up to ``snapshot_seq``) or of the newest base record.

    The base is used whenever the records after it reach the snapshot (they then say everything the
    snapshot does, and the history of every step since the base); the snapshot's render, newer than the
    base's, is kept. A record that does not apply (a damaged or hostile file) ends the replay, keeping what
    came before it; :attr:`Replay.problem` says which and why.
    """
    bases = [index for index, record in enumerate(records) if record.kind == "base"]
    if bases and (snapshot is None or records[-1].seq >= snapshot_seq):
        doc, later = None, records[bases[-1] :]
    else:
        doc, later = snapshot, [record for record in records if record.seq > snapshot_seq]
    applied = 0
    pending: list[Any] = []
    expressible = True
    for record in later:
        try:
            if record.kind == "base":
                doc, pending, expressible = _base_document(record), [], True
            elif doc is not None:
                commands, undoable = _apply_edit(doc, record)
                pending.extend(commands)
                expressible = expressible and undoable
                if "history" in record.header:
                    _move_history(doc, record.header["history"], pending, expressible)
                    pending, expressible = [], True
            applied += 1
        except Exception as exc:  # noqa: BLE001 - a journal is untrusted input: any failure stops the replay here
            log.warning("journal record %d does not apply (%s); recovery stops before it", record.seq, exc)
            problem = f"record {record.seq} does not apply ({type(exc).__name__}: {str(exc)[:120]})"
            return Replay(_with_render(doc, snapshot), applied, problem)
    return Replay(_with_render(doc, snapshot), applied)


def _with_render(doc: Document | None, snapshot: Document | None) -> Document | None:
    """The snapshot's render, when the replay started from an older base (renders are not journaled)."""
    if doc is not None and snapshot is not None and doc is not snapshot and snapshot.last_render is not None:
        doc.last_render = snapshot.last_render
    return doc


def replay(records: list[Record], snapshot: Document | None, snapshot_seq: int = 0) -> tuple[Document | None, int]:
    """:func:`replay_journal` as ``(document, records applied)``."""
    result = replay_journal(records, snapshot, snapshot_seq)
    return result.document, result.applied
