"""Engine options outside `render`: listed by `engines`, taken by `batch` (flags and styles-manifest rows),
recorded in the batch manifest's replay command. Real `regionpaint` subprocesses on tiny inputs.

The engine with options is the example plugin `regionpaint-transfer` (seven options, `patch_size` with its
own `--patch-size` flag); it reaches the subprocesses the way an installed plugin does, through an entry
point in the ``regionpaint`` group (a ``*.dist-info`` folder on ``PYTHONPATH``), without a pip install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regionpaint.app.batch.manifest import REPLAY_TOLERANCE_LEVELS
from tests.plugin_env import EXAMPLE, REPO

pytest.importorskip("cv2")  # the example plugin's one dependency beyond numpy

# A checkpoint whose engine (SPADE) is not the transfer engine: its flags are refused there.
SPADE = REPO / "assets" / "demo" / "models" / "spade_streets.safetensors"


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """A `regionpaint` environment in which the example plugin is installed as ``transfer``."""
    site = tmp_path / "site"
    info = site / "regionpaint_transfer-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: regionpaint-transfer\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[regionpaint]\ntransfer = regionpaint_transfer.plugin\n")
    environment = {k: v for k, v in os.environ.items() if k != "REGIONPAINT_LOAD_PLUGINS"}
    environment.update(
        PYTHONPATH=os.pathsep.join([str(site), str(EXAMPLE / "src"), str(REPO)]),
        REGIONPAINT_LOAD_PLUGINS="transfer",
        REGIONPAINT_DATA_DIR=str(tmp_path / "data"),
    )
    return environment


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=600
    )


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def write_inputs(root: Path) -> Path:
    """Two 32x64 Cityscapes-id label maps in ``root/labels`` and a noisy style photo ``root/photo.png``."""
    rng = np.random.default_rng(0)
    labels = root / "labels"
    labels.mkdir(parents=True)
    for index in range(2):
        blocks = rng.choice([7, 8, 11, 21, 23, 26], size=(2, 4)).astype(np.uint8)
        Image.fromarray(np.kron(blocks, np.ones((16, 16), np.uint8))).save(labels / f"m{index}.png")
    Image.fromarray(rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)).save(root / "photo.png")
    return labels


def test_engines_lists_every_engines_options_in_json_table_and_options_view(env):
    from regionpaint.plugins.manager import get_plugin_manager

    listed = cli(env, "engines", "--json")
    assert listed.returncode == 0, listed.stderr
    engines = {e["id"]: e for e in json.loads(listed.stdout)}
    for engine_id, entry in get_plugin_manager().engines().items():  # the built-ins: every option, in order
        assert [o["name"] for o in engines[engine_id]["options"]] == [o.name for o in entry.engine_class.options]
    spade_z = engines["spade"]["options"][0]
    assert (spade_z["type"], spade_z["choices"], spade_z["default"], spade_z["requires"]) == (
        "choice",
        ["style", "random"],
        "style",
        "latent_z",
    )
    patch = {o["name"]: o for o in engines["transfer"]["options"]}["patch_size"]
    assert (patch["type"], patch["minimum"], patch["maximum"], patch["default"], patch["flag"]) == (
        "int",
        0,
        128,
        0,
        "--patch-size",
    )
    assert "side of the texture patches" in patch["help"]

    table = cli(env, "engines")
    assert table.returncode == 0, table.stderr
    transfer_row = next(line for line in table.stdout.splitlines() if line.startswith("transfer "))
    assert "texture, patch_size, follow_layout" in transfer_row

    detailed = cli(env, "engines", "--options")  # what `render --help` points to
    assert detailed.returncode == 0, detailed.stderr
    patch_row = next(line for line in detailed.stdout.splitlines() if line.startswith("patch_size "))
    assert patch_row.split()[:5] == ["patch_size", "int", "0", "to", "128"] and "--patch-size" in patch_row
    assert "spade_z" in detailed.stdout and "latent_z" in detailed.stdout
    assert "sean (SEAN, plugin regionpaint.engines.sean.plugin): no options" in detailed.stdout
    assert "`regionpaint engines --options`" in cli(env, "render", "--help").stdout


def test_batch_takes_option_flags_and_manifest_row_options_and_its_records_replay(env, tmp_path):
    labels = write_inputs(tmp_path)
    styles = tmp_path / "styles.json"
    styles.write_text(
        json.dumps(
            {
                "defaults": {"style": ["A=photo.png"], "options": {"colour_space": "lab"}},
                "images": [{"label": "m1.png", "options": {"texture": False}}],
            }
        )
    )
    out = tmp_path / "out"
    ran = cli(
        env,
        "batch",
        "--device",
        "cpu",
        "--engine",
        "transfer",  # an engine without weights: no --checkpoint
        "--labels",
        str(labels),
        "--out",
        str(out),
        "--styles",
        str(styles),
        "--patch-size",
        "8",  # the option's own flag
        "--option",
        "seam_blur=0",
        "--option",
        "colour_space=rgb",  # the manifest's defaults win over the command line, name by name
    )
    assert ran.returncode == 0, ran.stderr
    records = {r["key"]: r for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    assert records["m0.png"]["settings"]["option"] == ["colour_space=lab", "patch_size=8", "seam_blur=0"]
    assert records["m1.png"]["settings"]["option"] == [
        "colour_space=lab",
        "patch_size=8",
        "seam_blur=0",
        "texture=false",
    ]
    assert records["m0.png"]["info"]["patch_size"] == 8, "the flag reached the engine"
    for key, record in records.items():
        replay = record["render"]
        assert replay[:4] == ["render", "--engine", "transfer", "--label"] and "--checkpoint" not in replay
        assert replay.count("--option") == len(record["settings"]["option"])
        again = tmp_path / f"again_{key}"
        rendered = cli(env, *replay[:-1], str(again))
        assert rendered.returncode == 0, rendered.stderr
        # The transfer engine is numpy and OpenCV on the CPU; the manifest promises 1 level of 255 whatever
        # engine it is (app/batch/manifest.py: REPLAY_TOLERANCE_LEVELS).
        assert np.abs(pixels(again) - pixels(out / key)).max() <= REPLAY_TOLERANCE_LEVELS, key

    # The row's option made the difference: the same replay without it paints the regions' texture.
    replay = records["m1.png"]["render"]
    at = replay.index("texture=false")
    without = replay[: at - 1] + replay[at + 1 : -1]  # the pair --option texture=false taken out
    textured = tmp_path / "textured.png"
    assert cli(env, *without, str(textured)).returncode == 0
    assert np.abs(pixels(textured) - pixels(out / "m1.png")).max() > 20


def test_bad_options_stop_the_batch_in_one_line_naming_file_entry_and_option(env, tmp_path):
    labels = write_inputs(tmp_path)
    base = ["batch", "--device", "cpu", "--labels", str(labels)]
    transfer = [*base, "--engine", "transfer"]
    spade = [*base, "--checkpoint", str(SPADE)]
    styles = tmp_path / "styles.json"
    styles.write_text(json.dumps([{"label": "m0.png"}, {"label": "m1.png", "options": {"overlap": 3}}]))
    cases = {
        "styles.json: entry 2: options: the Colour and texture transfer engine: option overlap: 3.0 is above "
        "the maximum 0.5": [*transfer, "--styles", str(styles)],
        "the Colour and texture transfer engine: option patch_size: 'x' is not a valid int": [
            *transfer,
            "--patch-size",
            "x",
        ],
        "the Colour and texture transfer engine: unknown option patch (this engine's options: ": [
            *transfer,
            "--option",
            "patch=3",
        ],
        # Another engine's flag is refused, not ignored (the checkpoint's engine is SPADE).
        "--patch-size: the SPADE (GauGAN) engine has no option patch_size": [*spade, "--patch-size", "8"],
        "the SPADE (GauGAN) engine needs --checkpoint": [*base, "--engine", "spade"],
        "batch needs --checkpoint, or --engine ID for an engine that needs no weights": base,
    }
    csv_styles = tmp_path / "styles.csv"
    csv_styles.write_text("label,options\nm0.png,overlap=0.3;colour_space=hsv\n")
    cases["styles.csv: entry 1: options: the Colour and texture transfer engine: option colour_space: 'hsv'"] = [
        *transfer,
        "--styles",
        str(csv_styles),
    ]
    for index, (expected, argv) in enumerate(cases.items()):
        out = tmp_path / f"out{index}"
        result = cli(env, *argv, "--out", str(out))
        assert result.returncode == 2, (argv, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("regionpaint: error: "), result.stderr
        assert expected in lines[0], lines[0]
        assert not list(out.glob("*.png")), "stopped before anything was rendered"

    # render shares the plumbing: another engine's flag is refused there too (it used to be ignored).
    result = cli(
        env,
        "render",
        "--checkpoint",
        str(SPADE),
        "--label",
        str(labels / "m0.png"),
        "--patch-size",
        "8",
        "--out",
        str(tmp_path / "spade.png"),
    )
    assert result.returncode == 2 and "--patch-size: the SPADE (GauGAN) engine has no option" in result.stderr
    assert not (tmp_path / "spade.png").exists()
