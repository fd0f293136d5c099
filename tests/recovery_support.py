"""Helpers for the recovery tests: a photo document saved as a project, editor sessions run as real processes
(killed with SIGKILL by the tests), and hand-made journal records.

A photo document is what issue 22 lost: a photo with its own segmentation as the baseline, an instance
map and its baseline, a non-default composite (Seamless, band 24, colour matching on) and a last render
whose composite is at the photo's size while the network's raw output is 256×128.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from regionpaint.app.model import edits
from regionpaint.app.model.document import Document, resize_photo
from regionpaint.app.model.edit_mask import start_photo_edit
from regionpaint.app.model.project import save_project
from tests.conftest import SHARED

REPO = Path(__file__).resolve().parents[1]
CITYSCAPES = SHARED / "fixtures" / "cityscapes"
AACHEN = "aachen_000000_000019"
RAW_SIZE = (256, 128)  # (W, H): the network's output behind the composite, as in issue 22
COMPOSITE = {"mode": "seamless", "band": 24, "harmonize": True}


def photo_document() -> Document:
    """The issue's photo document: the Cityscapes fixture at 2048×1024 where present, else a 512×256 street."""
    photo_path = CITYSCAPES / "train_img" / f"{AACHEN}_leftImg8bit.png"
    if photo_path.is_file():
        from regionpaint.app.model.imports import new_document

        doc = new_document(
            photo_path,
            CITYSCAPES / "train_label" / f"{AACHEN}_gtFine_labelIds.png",
            CITYSCAPES / "train_inst" / f"{AACHEN}_gtFine_instanceIds.png",
        )
    else:  # a street of the same classes, so the test runs without ../shared
        label = np.full((256, 512), 7, np.uint8)  # road
        label[:80] = 23  # sky
        label[80:150] = 11  # building
        label[170:210, 100:220] = 26  # a car
        instance = label.astype(np.int32)
        instance[170:210, 100:220] = 26001
        photo = np.random.default_rng(3).integers(0, 255, (256, 512, 3), dtype=np.uint8)
        doc = Document(label, "cityscapes", photo=photo, instance=instance)
        start_photo_edit(doc)
    edits.set_composite_settings(doc, **COMPOSITE)
    raw = resize_photo(doc.photo[::-1].copy(), RAW_SIZE)  # the network's own output (here: any real image)
    composite = doc.photo.copy()
    composite[: doc.height // 3] = 255 - composite[: doc.height // 3]
    doc.set_render(composite, 1.25, raw)
    doc.history.clear()
    return doc


def save_photo_project(path: Path) -> Document:
    doc = photo_document()
    save_project(doc, path)
    return doc


def start_session(data: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """``python -m tests.editor_crash_session DATA ARGS...`` offscreen, its stdout readable line by line."""
    data.mkdir(parents=True, exist_ok=True)
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.editor_crash_session", str(data), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=environment,
    )


def read_until(process: subprocess.Popen, prefix: str) -> list[str]:
    lines = []
    for line in process.stdout:
        lines.append(line.strip())
        if line.startswith(prefix):
            return lines
    pytest.fail(f"the editor session ended before {prefix!r}: {lines}")


def edit_project_and_kill(data: Path, project: Path, strokes: int, snapshot_after: int = 0) -> list[int]:
    """A real editor opens ``project``, paints ``strokes`` brush strokes with the mouse (a snapshot after
    stroke ``snapshot_after``, if any), and is killed with SIGKILL. Returns the label CRC after each stroke."""
    process = start_session(data, "project", str(project), str(strokes), str(snapshot_after))
    try:
        lines = read_until(process, "ready")
        process.send_signal(signal.SIGKILL)
        process.wait()  # reaped: the pid is free for the next process, as after any crash
    finally:
        process.kill()
        process.wait()
    return [int(line.split()[2]) for line in lines if line.startswith("done")]


def label_crc(doc: Document) -> int:
    return zlib.crc32(doc.label.tobytes())


def journal_record(header: dict, arrays: tuple[np.ndarray, ...] = ()) -> bytes:
    """One framed journal record (b"R", payload length, CRC-32, JSON line + raw arrays), with a valid CRC."""
    return framed(json.dumps(header).encode("utf-8"), arrays)


def framed(head: bytes, arrays: tuple[np.ndarray, ...] = ()) -> bytes:
    payload = b"".join([head, b"\n", *(np.ascontiguousarray(a).tobytes() for a in arrays)])
    return struct.pack("<cII", b"R", len(payload), zlib.crc32(payload)) + payload
