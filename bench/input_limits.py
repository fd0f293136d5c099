"""What hostile or unlucky inputs cost now: the figures behind docs/safety.md's table on inputs.

    python -m bench.input_limits              # refusals: time to refuse a FIFO, peak memory of each refusal
    python -m bench.input_limits --sizes      # also the SEAN demo's peak memory at 512, 1024 and 2048 pixels

Each command runs in a child process, started from a small launcher so that the child's own ``ru_maxrss``
is read (Linux keeps the fork-time size of a large parent in a child's figure across exec).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"
SEAN = DEMO / "models" / "sean_faces.safetensors"

_LAUNCHER = """
import json, os, subprocess, sys
process = subprocess.Popen(sys.argv[1:], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
stderr = process.stderr.read()
_, status, usage = os.wait4(process.pid, 0)
print(json.dumps([os.waitstatus_to_exitcode(status), usage.ru_maxrss, stderr]))
"""


def cli(*args: str) -> dict:
    """Exit code, peak RSS (MiB), wall seconds and the last stderr line of ``regionpaint ARGS``."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "regionpaint", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    code, maxrss, stderr = json.loads(done.stdout)
    scale = 1 if sys.platform == "darwin" else 1024
    lines = stderr.strip().splitlines()
    return {
        "exit": code,
        "peak_mib": round(maxrss * scale / 2**20),
        "seconds": round(time.perf_counter() - start, 2),
        "said": lines[-1][:150] if lines else "",
    }


def _solid_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, format="PNG", compress_level=9)
    return buffer.getvalue()


def _face_demo() -> dict[str, bytes]:
    with zipfile.ZipFile(DEMO / "faces.rpaint") as demo:
        return {name: demo.read(name) for name in demo.namelist()}


def _solid_project(path: Path, demo: dict[str, bytes]) -> Path:
    """The face demo plus thirty 9999x9999 solid PNG style sources (~10 MB, 3 gigapixels decoded)."""
    big = _solid_png(9999, 9999)
    doc = json.loads(demo["doc.json"])
    names = [f"styles/big{n}/image.png" for n in range(30)]
    doc["style_sources"] += [{"name": f"big{n}", "image": name, "label": None} for n, name in enumerate(names)]
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("doc.json", json.dumps(doc))
        for name, data in {**demo, **dict.fromkeys(names, big)}.items():
            if name != "doc.json":
                out.writestr(name, data)
    return path


def refusals(work: Path) -> dict[str, dict]:
    demo = _face_demo()
    label, photo = work / "label.png", work / "photo.png"
    label.write_bytes(demo["label.png"])
    photo.write_bytes(demo["photo.png"])
    fifo = work / "fifo.rpaint"
    os.mkfifo(fifo)
    style = ["--style", f"A={photo}:{label}"]
    out = ["--device", "cpu", "--out", str(work / "o.png")]
    return {
        "cli start-up (engines)": cli("engines"),
        "render --project FIFO": cli("render", "--project", str(fifo), *out),
        "render --size 19968x19968": cli(
            "render", "--checkpoint", str(SEAN), "--label", str(label), *style, "--size", "19968x19968", *out
        ),
        "render --project (30 x 9999x9999 PNG)": cli(
            "render", "--project", str(_solid_project(work / "s.rpaint", demo)), *out
        ),
    }


def sean_sizes(work: Path) -> dict[str, dict]:
    demo = _face_demo()
    label, photo = work / "label.png", work / "photo.png"
    label.write_bytes(demo["label.png"])
    photo.write_bytes(demo["photo.png"])
    rows = {}
    for side in (512, 1024, 2048):
        rows[f"SEAN demo {side}x{side}"] = cli(
            "render", "--checkpoint", str(SEAN), "--label", str(label), "--style", f"A={photo}:{label}",
            "--size", f"{side}x{side}", "--device", "cpu", "--out", str(work / "o.png"),
        )  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", action="store_true", help="also render the SEAN demo at 512, 1024 and 2048 px")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="regionpaint-input-limits-") as scratch:
        rows = refusals(Path(scratch))
        if args.sizes:
            rows.update(sean_sizes(Path(scratch)))
    width = max(len(name) for name in rows)
    for name, row in rows.items():
        print(
            f"{name:<{width}}  exit {row['exit']}  peak {row['peak_mib']:>5} MiB  {row['seconds']:>6} s  {row['said']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
