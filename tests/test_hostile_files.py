"""Hostile files: a zip bomb behind a valid doc.json is refused from the zip directory, with bounded memory."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from regionpaint.app.model.project import MAX_MEMBER_BYTES, ProjectError, open_project

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo" / "streets.rpaint"
BOMB_BYTES = 2 * 1024**3  # 2 GiB of zeros, deflated to ~2 MB
PEAK_LIMIT_BYTES = 1024**3


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bomb")
    info = zipfile.ZipInfo("label.png")
    info.compress_type = zipfile.ZIP_DEFLATED
    path = folder / "bomb.rpaint"
    with zipfile.ZipFile(DEMO) as demo, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for entry in demo.infolist():
            if entry.filename != "label.png":
                out.writestr(entry.filename, demo.read(entry.filename))
        chunk = bytes(16 * 1024 * 1024)
        with out.open(info, "w", force_zip64=True) as handle:
            for _ in range(BOMB_BYTES // len(chunk)):
                handle.write(chunk)
    assert path.stat().st_size < 20 * 1024 * 1024
    return path


# Started from a small launcher process: Linux keeps the fork-time resident size in a child's ru_maxrss across
# exec, so a child forked straight from this (large) pytest process would report pytest's memory as its own.
_LAUNCHER = """
import json, os, subprocess, sys
process = subprocess.Popen(sys.argv[1:], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
stderr = process.stderr.read()
_, status, usage = os.wait4(process.pid, 0)
print(json.dumps([os.waitstatus_to_exitcode(status), usage.ru_maxrss, stderr]))
"""


def peak_rss_of(argv: list[str]) -> tuple[int, int, str]:
    """Run ``argv``; return (exit code, the child's own peak RSS in bytes, its stderr)."""
    import json

    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *argv], capture_output=True, text=True, check=True)
    code, maxrss, stderr = json.loads(done.stdout)
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, kB on Linux
    return code, maxrss * scale, stderr


def test_a_bomb_behind_the_demo_doc_json_is_refused_in_process(bomb):
    with pytest.raises(ProjectError) as caught:
        open_project(bomb)
    message = str(caught.value)
    assert str(bomb) in message and "label.png" in message and "refusing" in message
    assert "\n" not in message


def test_render_project_refuses_the_bomb_with_bounded_memory(bomb, tmp_path):
    code, peak, stderr = peak_rss_of(
        [sys.executable, "-m", "regionpaint", "render", "--project", str(bomb), "--out", str(tmp_path / "out.png")]
    )
    assert code == 2, stderr
    assert stderr.startswith("regionpaint: error: ") and "label.png" in stderr and "Traceback" not in stderr
    assert peak < PEAK_LIMIT_BYTES, f"peak memory {peak / 2**20:.0f} MiB"


def test_a_member_whose_header_understates_its_size_is_cut_off(tmp_path):
    """A forged directory entry (small size, big data) still reads no more than the declared size."""
    path = tmp_path / "liar.rpaint"
    with zipfile.ZipFile(DEMO) as demo, zipfile.ZipFile(path, "w") as out:
        for entry in demo.infolist():
            data = demo.read(entry.filename)
            if entry.filename == "label.png":
                data = data + bytes(4 * MAX_MEMBER_BYTES // 256)
            out.writestr(entry.filename, data, compress_type=zipfile.ZIP_DEFLATED)
    raw = bytearray(path.read_bytes())
    # Shrink label.png's declared size in the central directory: reading must stop there (CRC error).
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("label.png")
    central = raw.rfind(b"PK\x01\x02", 0, raw.find(b"label.png", raw.find(b"PK\x01\x02")) + 1)
    raw[central + 24 : central + 28] = (1000).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    assert info.file_size > 1000
    with pytest.raises(ProjectError) as caught:
        open_project(path)
    assert "label.png" in str(caught.value)


def test_an_image_that_declares_too_many_pixels_is_refused_before_decoding(tmp_path):
    # A valid PNG header declaring 12000 x 12000 pixels (under Pillow's own limit); decoding it needs 144 MB.
    import struct
    import zlib

    from regionpaint.app.model.imports import ImportFileError, open_image

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 12000, 12000, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    path = tmp_path / "huge.png"
    path.write_bytes(png)
    with pytest.raises(ImportFileError) as caught:
        open_image(path)
    assert "12000x12000" in str(caught.value) and str(path) in str(caught.value)


def huge_png(width: int, height: int) -> bytes:
    """A valid PNG header declaring ``width`` x ``height`` grey pixels, with no pixel data to speak of."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_a_dataset_with_a_decompression_bomb_is_reported_not_crashed(tmp_path):
    from regionpaint.engines.training.validation import validate_dataset

    (tmp_path / "train_label").mkdir()
    (tmp_path / "train_img").mkdir()
    (tmp_path / "train_label" / "a.png").write_bytes(huge_png(60000, 60000))
    (tmp_path / "train_img" / "a.png").write_bytes(huge_png(60000, 60000))
    report = validate_dataset(tmp_path, "flat", label_nc=35, workers=1)
    assert report.unreadable and "a.png" in str(report.unreadable[0])
