"""The edit journal: an append-only file of the document's state changes, flushed after every edit.

The autosave snapshot (an ``.rpaint`` written every minute or so) is the base; the journal holds
what changed since, one record per finished edit (a stroke, a fill, a style or engine change, an undo
or redo), so a crash loses at most the edit in progress. Records hold *absolute* values: the pixels
of the box that changed (as they are now, not a diff) and the whole small settings, so replaying
more records than needed is harmless, and replaying from an older snapshot gives the same result.

Framing: ``RPJ1`` once, then per record ``b"R"``, payload length (u32 LE), CRC-32 of the payload
(u32 LE), payload = one JSON line + the raw bytes of the arrays it lists. A record torn by a crash
(short, or with a wrong CRC) ends the replay: everything before it is kept.

Kinds: ``base`` (the whole document, written when the first unsaved edit starts a journal) and
``edit`` (changed pixel boxes, and settings / style sources / photo when they changed).
No Qt, no torch, no pickle: arrays are raw bytes described by dtype and shape.
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

from .document import Document, DocumentError, EngineSettings, StyleSourceData
from .history import Box

log = logging.getLogger(__name__)

MAGIC = b"RPJ1"
_FRAME = struct.Struct("<cII")  # b"R", payload length, CRC-32
#: Refuse records larger than this when reading (a damaged length must not allocate gigabytes).
MAX_RECORD_BYTES = 1024 * 1024 * 1024


class JournalError(DocumentError):
    """A journal that cannot be written or read at all (the message names the file)."""


@dataclass
class Record:
    seq: int
    kind: str
    header: dict[str, Any]
    arrays: list[np.ndarray] = field(default_factory=list)


# -- encoding ------------------------------------------------------------------------------
def _settings(doc: Document) -> dict[str, Any]:
    """The document's small settings as JSON-ready data (the same fields a project's doc.json holds)."""
    from .project import _engine_json, _mix_json  # one JSON form for projects and the journal

    return {
        "engine": _engine_json(doc.engine),
        "default_style": _mix_json(doc.default_style),
        "region_styles": [[class_id, _mix_json(mix)] for class_id, mix in sorted(doc.region_styles.items())],
        "crossover": dict(doc.crossover),
    }


def _apply_settings(doc: Document, data: Mapping[str, Any]) -> None:
    engine = dict(data["engine"])
    size = engine.get("output_size")
    engine["output_size"] = None if size is None else tuple(size)
    doc.replace_fields(
        engine=EngineSettings(**engine),
        default_style=tuple((str(name), float(weight)) for name, weight in data["default_style"]),
        region_styles={
            int(class_id): tuple((str(n), float(w)) for n, w in mix) for class_id, mix in data["region_styles"]
        },
        crossover=dict(data["crossover"]),
    )


class _Payload:
    """Collects a record's header and arrays."""

    def __init__(self, seq: int, kind: str):
        self.header: dict[str, Any] = {"seq": seq, "kind": kind, "arrays": []}
        self.arrays: list[np.ndarray] = []

    def add(self, array: np.ndarray) -> int:
        array = np.ascontiguousarray(array)
        self.header["arrays"].append([array.dtype.str, list(array.shape)])
        self.arrays.append(array)
        return len(self.arrays) - 1

    def encode(self) -> bytes:
        head = json.dumps(self.header, separators=(",", ":"), allow_nan=False).encode("utf-8")
        return b"".join([head, b"\n", *(array.tobytes() for array in self.arrays)])


def _decode(payload: bytes) -> Record:
    newline = payload.index(b"\n")
    header = json.loads(payload[:newline].decode("utf-8"))
    arrays = []
    offset = newline + 1
    for dtype_text, shape in header["arrays"]:
        dtype = np.dtype(dtype_text)
        if dtype.kind not in "uib" or dtype.hasobject:
            raise ValueError(f"array dtype {dtype_text!r}")
        count = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if count < 0 or offset + count > len(payload):
            raise ValueError("array outside the record")
        arrays.append(np.frombuffer(payload, dtype, int(np.prod(shape)), offset).reshape(shape).copy())
        offset += count
    return Record(int(header["seq"]), str(header["kind"]), header, arrays)


def read_records(path: Path) -> list[Record]:
    """Every intact record of a journal, oldest first; reading stops at the first torn or damaged one."""
    records: list[Record] = []
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return records
    except OSError as exc:
        raise JournalError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    with handle:
        if handle.read(len(MAGIC)) != MAGIC:
            log.warning("%s: not an edit journal; ignored", path)
            return records
        while True:
            frame = handle.read(_FRAME.size)
            if not frame:
                break
            if len(frame) < _FRAME.size:
                log.info("%s: torn record header after %d records", path, len(records))
                break
            mark, length, crc = _FRAME.unpack(frame)
            if mark != b"R" or length > MAX_RECORD_BYTES:
                log.warning("%s: damaged record after %d records", path, len(records))
                break
            payload = handle.read(length)
            if len(payload) < length or zlib.crc32(payload) != crc:
                log.info("%s: torn last record after %d records", path, len(records))
                break
            try:
                records.append(_decode(payload))
            except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
                log.warning("%s: undecodable record after %d records (%s)", path, len(records), exc)
                break
    return records


# -- writing -------------------------------------------------------------------------------
def _sources_key(doc: Document) -> tuple[tuple[str, int], ...]:
    return tuple((name, id(source)) for name, source in doc.style_sources.items())


class EditJournal:
    """Appends the document's changes to ``path``; :meth:`start` writes the base, :meth:`record` each edit.

    Keeps a copy of the pixel layers as last journaled (to find the changed box of any edit, undo or
    redo without knowing the command), and the last settings, style sources and photo written.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.seq = 0
        self._handle: Any = None
        self._layers: dict[str, np.ndarray | None] = {}
        self._settings: dict[str, Any] | None = None
        self._sources: tuple[tuple[str, int], ...] = ()
        self._photo: np.ndarray | None = None

    @property
    def started(self) -> bool:
        return self._handle is not None

    def start(self, doc: Document) -> None:
        """Begin a new journal (the old file is replaced) whose base is the whole of ``doc``."""
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "wb", buffering=0)
        self._handle.write(MAGIC)
        self.seq += 1
        payload = _Payload(self.seq, "base")
        payload.header["label_set"] = doc.label_set_id
        payload.header["label"] = payload.add(doc.label)
        payload.header["instance"] = None if doc.instance is None else payload.add(doc.instance)
        payload.header["photo"] = None if doc.photo is None else payload.add(doc.photo)
        payload.header["settings"] = _settings(doc)
        payload.header["sources"] = self._encode_sources(doc, payload)
        self._remember(doc)
        self._append(payload)

    def record(self, doc: Document) -> bool:
        """Append what changed since the last record; False when nothing did (or no journal is open)."""
        if self._handle is None:
            return False
        payload = _Payload(self.seq + 1, "edit")
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
            payload.header["sources"] = self._encode_sources(doc, payload)
            changed = True
        if doc.photo is not self._photo:
            payload.header["photo"] = None if doc.photo is None else payload.add(doc.photo)
            changed = True
        if not changed:
            return False
        self.seq += 1
        self._remember(doc, layers=False)  # the layer copies were brought up to date box by box
        self._append(payload)
        return True

    def compact(self, through_seq: int) -> None:
        """Drop the records a snapshot now holds (``seq <= through_seq``), keeping the later ones."""
        if self._handle is None:
            return
        kept = [record for record in read_records(self.path) if record.seq > through_seq]
        temp = self.path.with_suffix(".tmp")
        with open(temp, "wb") as out:
            out.write(MAGIC)
            for record in kept:
                payload = _Payload(record.seq, record.kind)
                payload.header = record.header
                payload.arrays = record.arrays
                out.write(_frame(payload.encode()))
            out.flush()
            os.fsync(out.fileno())
        self._handle.close()
        os.replace(temp, self.path)
        self._handle = open(self.path, "ab", buffering=0)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def remove(self) -> None:
        """Close and delete the journal (the document is saved, or was closed cleanly)."""
        self.close()
        self.path.unlink(missing_ok=True)
        self._layers = {}

    def size_bytes(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    # -- helpers -----------------------------------------------------------------------------
    def _append(self, payload: _Payload) -> None:
        # Unbuffered: one write() per record, so the bytes are with the OS (and survive kill -9) on return.
        self._handle.write(_frame(payload.encode()))

    def _remember(self, doc: Document, layers: bool = True) -> None:
        if layers:
            self._layers = {
                name: None if getattr(doc, name) is None else getattr(doc, name).copy()
                for name in ("label", "instance")
            }
        self._settings = _settings(doc)
        self._sources = _sources_key(doc)
        self._photo = doc.photo

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

    def _encode_sources(self, doc: Document, payload: _Payload) -> list[dict[str, Any]]:
        sources = []
        for name, source in doc.style_sources.items():
            sources.append(
                {
                    "name": name,
                    "display_name": source.display_name,
                    "image": payload.add(source.image),
                    "label": None if source.label is None else payload.add(source.label),
                    "instance": None if source.instance is None else payload.add(source.instance),
                }
            )
        return sources


def _frame(payload: bytes) -> bytes:
    return _FRAME.pack(b"R", len(payload), zlib.crc32(payload)) + payload


# -- replaying -----------------------------------------------------------------------------
def _decode_sources(record: Record, entries: list[dict[str, Any]]) -> dict[str, StyleSourceData]:
    def array(index: int | None) -> np.ndarray | None:
        return None if index is None else record.arrays[index]

    return {
        entry["name"]: StyleSourceData(
            record.arrays[entry["image"]], array(entry["label"]), array(entry["instance"]), entry["display_name"]
        )
        for entry in entries
    }


def _base_document(record: Record) -> Document:
    header = record.header

    def array(key: str) -> np.ndarray | None:
        index = header.get(key)
        return None if index is None else record.arrays[index]

    doc = Document(array("label"), header["label_set"], photo=array("photo"), instance=array("instance"))
    doc.replace_fields(style_sources=_decode_sources(record, header["sources"]))
    _apply_settings(doc, header["settings"])
    return doc


def _apply_layer(doc: Document, name: str, entry: Mapping[str, Any], record: Record) -> None:
    if entry.get("absent"):
        setattr(doc, name, None)
        return
    crop = record.arrays[entry["array"]]
    layer = getattr(doc, name)
    if entry.get("full") or layer is None:
        setattr(doc, name, crop.copy())
        return
    x0, y0, x1, y1 = entry["box"]
    if crop.dtype != layer.dtype:
        layer = layer.astype(np.result_type(layer.dtype, crop.dtype))
        setattr(doc, name, layer)
    layer[y0:y1, x0:x1] = crop


def _apply_edit(doc: Document, record: Record) -> None:
    header = record.header
    for name in ("label", "instance"):
        if name in header:
            _apply_layer(doc, name, header[name], record)
    if "photo" in header:
        doc.photo = None if header["photo"] is None else record.arrays[header["photo"]]
    if "sources" in header:
        doc.replace_fields(style_sources=_decode_sources(record, header["sources"]))
    if "settings" in header:
        _apply_settings(doc, header["settings"])


def replay(records: list[Record], snapshot: Document | None, snapshot_seq: int = 0) -> tuple[Document | None, int]:
    """The document the records describe on top of ``snapshot`` (which holds every record up to ``snapshot_seq``).

    The newest base record after ``snapshot_seq`` replaces the snapshot. Returns the document (None when
    there is nothing to start from) and how many records were applied. A record that does not fit (a
    damaged file) ends the replay, keeping what came before it.
    """
    later = [record for record in records if record.seq > snapshot_seq]
    bases = [index for index, record in enumerate(later) if record.kind == "base"]
    doc = snapshot
    if bases:
        start = bases[-1]
        doc, later = None, later[start:]
    applied = 0
    for record in later:
        try:
            if record.kind == "base":
                doc = _base_document(record)
            elif doc is not None:
                _apply_edit(doc, record)
            applied += 1
        except (DocumentError, KeyError, IndexError, TypeError, ValueError) as exc:
            log.warning("journal record %d does not apply (%s); recovery stops before it", record.seq, exc)
            break
    return doc, applied
