"""`regionpaint batch`: outputs equal single `render` calls, named the dataset's way, resumable, robust."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regionpaint.app.batch.manifest import REPLAY_TOLERANCE_LEVELS, sha256_file
from regionpaint.app.cli import main

REPO = Path(__file__).resolve().parents[1]
SPADE = REPO / "assets" / "demo" / "models" / "spade_streets.safetensors"
SEAN = REPO / "assets" / "demo" / "models" / "sean_faces.safetensors"
PIX2PIXHD = REPO / "assets" / "demo" / "models" / "pix2pixhd_streets.safetensors"


def write_street_maps(root: Path, count: int, city: str = "aachen", seed: int = 0) -> list[Path]:
    """Cityscapes-named label + instance maps (256x128, road/sidewalk/building/vegetation/sky/car blocks)."""
    folder = root / "gtFine" / "val" / city
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    labels = []
    for index in range(count):
        blocks = rng.choice([7, 8, 11, 21, 23, 26], size=(4, 8)).astype(np.uint8)
        label = np.kron(blocks, np.ones((32, 32), np.uint8))
        stem = f"{city}_{index:06d}_000019_gtFine"
        Image.fromarray(label).save(folder / f"{stem}_labelIds.png")
        instance = (label.astype(np.int32) * 1000 + index).astype(np.uint16)
        Image.fromarray(instance).save(folder / f"{stem}_instanceIds.png")
        labels.append(folder / f"{stem}_labelIds.png")
    return labels


def batch(*args: str) -> int:
    return main(["batch", "--device", "cpu", *args])


def records(out: Path) -> dict[str, dict]:
    lines = (out / "manifest.jsonl").read_text().splitlines()
    return {r["key"]: r for r in map(json.loads, lines)}


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_outputs_mirror_the_tree_and_equal_the_render_command_in_the_manifest(tmp_path):
    labels = write_street_maps(tmp_path / "city", 3)
    out = tmp_path / "out"
    assert (
        batch("--checkpoint", str(SPADE), "--labels", str(tmp_path / "city"), "--out", str(out), "--batch-size", "2")
        == 0
    )
    keys = sorted(records(out))
    assert keys == [f"val/aachen/aachen_{i:06d}_000019_leftImg8bit.png" for i in range(3)]
    record = records(out)[keys[1]]
    assert record["settings"]["instance"].endswith("aachen_000001_000019_gtFine_instanceIds.png")
    # The recorded render command, run on its own, makes the same image within the manifest's promise: one
    # level of 255 (a batch of 2 and a single render run other float32 kernels on some CPUs).
    again = tmp_path / "again.png"
    argv = record["render"][1:-1] + [str(again), "--device", "cpu"]
    assert main(["render", *argv]) == 0
    assert np.abs(pixels(again) - pixels(out / keys[1])).max() <= REPLAY_TOLERANCE_LEVELS
    # Different maps, different images (nothing was rendered twice into several names).
    assert np.abs(pixels(out / keys[0]) - pixels(out / keys[1])).max() > 10
    assert labels[0].name.replace("_gtFine_labelIds", "_leftImg8bit") == Path(keys[0]).name


def test_rerun_skips_finished_outputs_by_manifest_not_by_existence(tmp_path):
    labels = write_street_maps(tmp_path / "city", 3)
    out = tmp_path / "out"
    common = ("--checkpoint", str(SPADE), "--labels", str(tmp_path / "city"), "--out", str(out), "--json")
    assert batch(*common) == 0
    first = records(out)
    stamps = {key: (out / key).stat().st_mtime_ns for key in first}
    assert batch(*common) == 0
    assert records(out) == first  # nothing rendered again
    assert {key: (out / key).stat().st_mtime_ns for key in first} == stamps
    # A changed label map, a damaged output and a changed setting render again; the rest is skipped.
    write_street_maps(tmp_path / "city", 1, seed=5)
    keys = sorted(first)
    before = pixels(out / keys[2])
    (out / keys[2]).write_bytes(b"truncated")
    assert batch(*common) == 0
    second = records(out)
    assert second[keys[1]] == first[keys[1]] and (out / keys[1]).stat().st_mtime_ns == stamps[keys[1]]
    assert second[keys[0]]["sha256"] != first[keys[0]]["sha256"]
    # The damaged output, rendered again: same settings, and the record's sha256 is the new file's (what the
    # next rerun checks). The image is the first one within REPLAY_TOLERANCE_LEVELS (1 level of 255), not bit
    # for bit: it was rendered alone the first time (3 maps, --batch-size 2) and with keys[0] now, and oneDNN
    # runs other kernels for other batch sizes on some CPUs (AMX Xeons): float32 rounding, ~1e-5 of the output.
    assert second[keys[2]]["fingerprint"] == first[keys[2]]["fingerprint"]
    assert second[keys[2]]["sha256"] == sha256_file(out / keys[2])
    assert np.abs(pixels(out / keys[2]) - before).max() <= REPLAY_TOLERANCE_LEVELS
    assert batch(*common) == 0
    assert records(out) == second  # the re-rendered output is recognised as done
    assert batch(*common, "--seed", "3") == 0  # the seed is part of every output's settings
    assert all(records(out)[k]["settings"]["seed"] == 3 for k in keys)
    assert labels


def test_a_map_renders_the_same_whatever_batch_it_shares_within_the_manifests_promise(tmp_path):
    """Every output of --batch-size 1 (one map per forward) and --batch-size 3 (three maps in one forward)
    records the same settings and the same image within REPLAY_TOLERANCE_LEVELS: what the manifest promises
    a rerun, whichever maps share its batch and whichever kernels this CPU picks for each batch size."""
    write_street_maps(tmp_path / "city", 3)
    common = ("--checkpoint", str(SPADE), "--labels", str(tmp_path / "city"))
    assert batch(*common, "--out", str(tmp_path / "one"), "--batch-size", "1") == 0
    assert batch(*common, "--out", str(tmp_path / "three"), "--batch-size", "3") == 0
    one, three = records(tmp_path / "one"), records(tmp_path / "three")
    assert sorted(one) == sorted(three) and len(one) == 3
    for key in one:
        assert one[key]["fingerprint"] == three[key]["fingerprint"]  # the batch size is not a setting
        assert three[key]["info"]["batched"] is True
        for out, found in ((tmp_path / "one", one), (tmp_path / "three", three)):
            assert found[key]["sha256"] == sha256_file(out / key)  # each record checksums its own file
        # 1 level of 255: the two forwards differ only in float32 summation order (~1e-5 of the output).
        difference = np.abs(pixels(tmp_path / "one" / key) - pixels(tmp_path / "three" / key)).max()
        assert difference <= REPLAY_TOLERANCE_LEVELS, key
    # The maps differ, so a mix-up of rows within a batch would show (by far more than the tolerance).
    assert np.abs(pixels(tmp_path / "one" / sorted(one)[0]) - pixels(tmp_path / "three" / sorted(one)[1])).max() > 10


def test_bad_inputs_are_reported_at_the_end_and_do_not_stop_the_run(tmp_path, capsys):
    write_street_maps(tmp_path / "city", 2)
    bad = tmp_path / "city" / "gtFine" / "val" / "aachen" / "zzz_000000_000000_gtFine_labelIds.png"
    bad.write_bytes(b"not a png")
    out_of_range = tmp_path / "city" / "gtFine" / "val" / "aachen" / "yyy_000000_000000_gtFine_labelIds.png"
    Image.fromarray(np.full((128, 256), 77, np.uint8)).save(out_of_range)
    out = tmp_path / "out"
    code = batch("--checkpoint", str(SPADE), "--labels", str(tmp_path / "city"), "--out", str(out), "--json")
    assert code == 1
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    done = events[-1]
    assert done["event"] == "done" and done["rendered"] == 2
    failed = dict(map(tuple, done["failed"]))
    assert set(failed) == {str(bad), str(out_of_range)}
    assert "77" in failed[str(out_of_range)]
    assert len(records(out)) == 2


def test_layouts_name_outputs_and_find_instance_maps(tmp_path):
    from regionpaint.app.batch.discovery import discover

    root = tmp_path / "coco"
    for folder in ("val_label", "val_inst", "val_img"):
        (root / folder).mkdir(parents=True)
    for name in ("000000000139", "000000000285"):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "val_label" / f"{name}.png")
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "val_img" / f"{name}.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "val_inst" / "000000000139.png")
    layout, items = discover(root, "auto")
    assert layout == "flat"
    assert [i.key for i in items] == ["val_label/000000000139.png", "val_label/000000000285.png"]
    assert items[0].instance == root / "val_inst" / "000000000139.png" and items[1].instance is None
    write_street_maps(tmp_path / "city", 1)
    layout, items = discover(tmp_path / "city" / "gtFine", "cityscapes")
    assert items[0].key == "val/aachen/aachen_000000_000019_leftImg8bit.png"
    assert items[0].instance.name == "aachen_000000_000019_gtFine_instanceIds.png"


def test_random_style_mode_records_a_seed_per_image_and_pix2pixhd_batches_match_render(tmp_path):
    write_street_maps(tmp_path / "city", 3)
    out = tmp_path / "out"
    args = ["--checkpoint", str(PIX2PIXHD), "--labels", str(tmp_path / "city"), "--out", str(out)]
    assert batch(*args, "--style-mode", "random", "--batch-size", "3") == 0
    found = records(out)
    seeds = {r["settings"]["seed"] for r in found.values()}
    assert len(seeds) == 3  # one recorded seed per image
    key = sorted(found)[2]
    again = tmp_path / "again.png"
    assert main(["render", *found[key]["render"][1:-1], str(again), "--device", "cpu"]) == 0
    # The manifest's promise (batch of 3 vs a single render: other float32 kernels, ~1e-5 of the output).
    assert np.abs(pixels(again) - pixels(out / key)).max() <= REPLAY_TOLERANCE_LEVELS


def _face_folder(root: Path, count: int) -> Path:
    rng = np.random.default_rng(2)
    (root / "labels").mkdir(parents=True)
    (root / "images").mkdir()
    for index in range(count):
        label = np.kron(rng.integers(0, 19, (8, 8)), np.ones((16, 16), int)).astype(np.uint8)
        Image.fromarray(label).save(root / "labels" / f"{index}.png")
        Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(root / "images" / f"{index}.jpg")
    return root


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_styles_manifest_gives_each_output_its_style_and_seed(tmp_path, suffix):
    faces = _face_folder(tmp_path / "faces", 2)
    style = f"A={faces / 'images' / '1.jpg'}:{faces / 'labels' / '1.png'}"
    if suffix == ".json":
        manifest = tmp_path / "styles.json"
        entries = [{"label": "0.png", "style": [style], "seed": 7, "no_noise": True}, {"label": "nothing.png"}]
        manifest.write_text(json.dumps(entries))
    else:
        manifest = tmp_path / "styles.csv"
        manifest.write_text(f"label,style,seed,no_noise\n0.png,{style},7,true\nnothing.png,,,\n")
    out = tmp_path / "out"
    code = batch(
        "--checkpoint",
        str(SEAN),
        "--labels",
        str(faces / "labels"),
        "--out",
        str(out),
        "--styles",
        str(manifest),
        "--photos",
        str(faces / "images"),
        "--size",
        "128x128",
    )
    assert code == 0
    found = records(out)
    assert found["0.png"]["settings"]["seed"] == 7 and found["0.png"]["settings"]["no_noise"] is True
    assert found["0.png"]["settings"]["style"] == [style]
    # The map the manifest does not name falls back to --photos: its own photo, with its own label.
    assert found["1.png"]["settings"]["style"] == [f"photo={faces / 'images' / '1.jpg'}:{faces / 'labels' / '1.png'}"]
    again = tmp_path / "again.png"
    assert main(["render", *found["0.png"]["render"][1:-1], str(again), "--device", "cpu"]) == 0
    # The manifest's promise: 1 level of 255 (the same float32 math; SEAN renders one map per call, so on most
    # machines this is bit-identical, but nothing promises the same kernels to two processes).
    assert np.abs(pixels(again) - pixels(out / "0.png")).max() <= REPLAY_TOLERANCE_LEVELS


def test_ctrl_c_stops_after_the_current_batch_and_a_rerun_finishes(tmp_path):
    write_street_maps(tmp_path / "city", 12)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "regionpaint",
        "batch",
        "--device",
        "cpu",
        "--checkpoint",
        str(SPADE),
        "--labels",
        str(tmp_path / "city"),
        "--out",
        str(out),
        "--batch-size",
        "1",
        "--json",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    events = []
    for line in process.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == "step" and events[-1]["step"] >= 1:
            process.send_signal(signal.SIGINT)
            break
    rest, errors = process.communicate(timeout=120)
    events += [json.loads(line) for line in rest.splitlines()]
    assert process.returncode == 130, errors
    kinds = [e["event"] for e in events]
    assert "stopped" in kinds and "Traceback" not in errors
    finished = records(out)
    assert 1 <= len(finished) < 12
    for key in finished:  # every output written is complete
        assert Image.open(out / key).size == (256, 128)
    assert not list(out.rglob("*.tmp")) and not list(out.glob("*.part"))
    assert batch("--checkpoint", str(SPADE), "--labels", str(tmp_path / "city"), "--out", str(out)) == 0
    assert len(records(out)) == 12


def test_sean_mean_and_random_style_modes_use_the_mean_styles_folder(tmp_path):
    faces = _face_folder(tmp_path / "faces", 3)
    common = ["--checkpoint", str(SEAN), "--labels", str(faces / "labels"), "--size", "128x128"]
    common += ["--mean-styles", str(faces)]
    assert batch(*common, "--out", str(tmp_path / "random"), "--style-mode", "random", "--batch-size", "2") == 0
    found = records(tmp_path / "random")
    assert all(r["settings"]["region_style"] == ["all=@random"] for r in found.values())
    assert len({r["settings"]["seed"] for r in found.values()}) == 3
    again = tmp_path / "again.png"  # render reproduces @random with --mean-styles and the recorded seed
    assert main(["render", *found["2.png"]["render"][1:-1], str(again), "--device", "cpu"]) == 0
    # The manifest's promise: 1 level of 255 (as above).
    assert np.abs(pixels(again) - pixels(tmp_path / "random" / "2.png")).max() <= REPLAY_TOLERANCE_LEVELS
    assert batch(*common, "--out", str(tmp_path / "mean"), "--style-mode", "mean") == 0
    assert all(r["settings"]["region_style"] == ["all=@mean"] for r in records(tmp_path / "mean").values())
    assert np.abs(pixels(tmp_path / "mean" / "2.png") - pixels(tmp_path / "random" / "2.png")).max() > 10


def test_style_mode_that_the_checkpoint_cannot_do_is_one_clear_error(tmp_path, capsys):
    write_street_maps(tmp_path / "city", 1)
    code = batch(
        "--checkpoint",
        str(SPADE),
        "--labels",
        str(tmp_path / "city"),
        "--out",
        str(tmp_path / "o"),
        "--style-mode",
        "mean",
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("regionpaint: error: --style-mode mean") and "Traceback" not in err


@pytest.mark.parametrize("case", ["spade_cityscapes", "pix2pixhd_global"])
def test_batched_renders_of_the_official_reference_match_the_official_output(tmp_path, case):
    import shutil

    from tests.conftest import require_shared

    case_dir = require_shared("refs", case)
    label = next(case_dir.glob("datasets/**/*_gtFine_labelIds.png"))
    instance = next(case_dir.glob("datasets/**/*_gtFine_instanceIds.png"))
    for city in ("a", "b"):  # the same map twice: one batch of two through the batched forward pass
        folder = tmp_path / "city" / "gtFine" / "val" / city
        folder.mkdir(parents=True)
        shutil.copy(label, folder / label.name)
        shutil.copy(instance, folder / instance.name)
    out = tmp_path / "out"
    checkpoint = case_dir / "checkpoints" / case
    assert (
        batch(
            "--checkpoint", str(checkpoint), "--labels", str(tmp_path / "city"), "--out", str(out), "--batch-size", "2"
        )
        == 0
    )
    expected = pixels(case_dir / "output.png")
    for key in records(out):
        assert records(out)[key]["info"]["batched"] is True
        # Parity with the official output: float outputs within 1e-4 of it (the engines' parity tests), so
        # the truncated uint8 pixels are within 1 level (a level is 2 / 255 = 7.8e-3 of the float output).
        assert np.abs(pixels(out / key) - expected).max() <= 1
