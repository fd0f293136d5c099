"""Rebuild the bundled demo: procedural datasets -> ``regionpaint train`` on CPU -> compact models + documents.

    python -m tools.demo.build --work /tmp/regionpaint-demo            # everything (hours on 2 CPU cores)
    python -m tools.demo.build --work DIR --export-only                # models + documents from finished runs
    python -m tools.demo.build --documents-only faces.rpaint          # rewrite one demo document (no training)

Each model is trained by the project's own ``regionpaint train`` (the commands are in :data:`MODELS`),
exported as a float16 ``.safetensors`` file with its JSON sidecar under ``assets/demo/models``, and the
demo documents (``assets/demo/*.rpaint``) name those files relative to themselves. ``MANIFEST.json``
records the commands, the steps reached and the final losses, so anyone can check how a model was made.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO / "assets" / "demo"
MODELS_DIR = DEMO_DIR / "models"
FACE_SIZE, STREET_SIZE = 256, (512, 256)  # document sizes; the networks run at 128 and 256x128
HAIR = 13


@dataclass(frozen=True)
class Dataset:
    kind: str
    count: int
    size: int
    seed: int = 0


@dataclass(frozen=True)
class Model:
    engine: str
    dataset: str
    steps: int
    train_args: tuple[str, ...]


DATASETS = {
    "faces": Dataset("faces", count=400, size=128),
    "streets": Dataset("streets", count=300, size=256),
}

# fmt: off
_COMMON = ("--save-every", "100", "--sample-every", "200", "--log-every", "10")
# Narrow SPADE norms (--spade_hidden) and style encoder (--zencoder_ngf) make CPU training ~3x faster; the L1
# reconstruction term stands in for the VGG loss, whose ImageNet weights cannot be fetched offline.
_SMALL = ("--spade_hidden", "32", "--lambda_l1", "20")
MODELS = {
    "sean_faces": Model("sean", "faces", 3000, (
        "--batch-size", "4", "--crop-size", "128", "--load_size", "128", "--ngf", "8", "--ndf", "16",
        "--style_length", "32", "--zencoder_ngf", "8", "--label_nc", "19", "--no_instance", *_SMALL, *_COMMON)),
    "spade_streets": Model("spade", "streets", 3000, (
        "--batch-size", "2", "--crop-size", "256", "--load_size", "256", "--preprocess_mode", "fixed",
        "--aspect_ratio", "2", "--num_upsampling_layers", "normal", "--ngf", "8", "--ndf", "16",
        "--label_nc", "35", *_SMALL, *_COMMON)),
    "pix2pixhd_streets": Model("pix2pixhd", "streets", 2000, (
        "--batch-size", "2", "--crop-size", "256", "--load_size", "256", "--preprocess_mode", "scale_width",
        "--netG", "global", "--ngf", "8", "--n_downsample_global", "3", "--n_blocks_global", "4",
        "--instance_feat", "--nef", "8", "--n_downsample_E", "3", "--ndf", "16", "--label_nc", "35",
        "--lambda_l1", "20", *_COMMON)),
}
# fmt: on


def train_command(name: str, work: Path, steps: int | None = None) -> list[str]:
    """The ``regionpaint train`` argv that makes model ``name`` (with ``--resume`` once its run folder exists)."""
    model = MODELS[name]
    run_dir = work / name
    argv = [
        "train",
        "--engine",
        model.engine,
        "--data",
        str(work / f"{model.dataset}_data"),
        "--out",
        str(run_dir),
        "--steps",
        str(steps or model.steps),
        *model.train_args,
        "--json",
    ]
    return [*argv, "--resume"] if (run_dir / "latest_net_G.pth").is_file() else argv


def make_datasets(work: Path) -> None:
    from tools.demo.dataset import write_dataset

    for key, spec in DATASETS.items():
        folder = work / f"{key}_data"
        if not (folder / "demo_dataset.json").is_file():
            write_dataset(spec.kind, folder, spec.count, spec.size, spec.seed)


def train(name: str, work: Path, steps: int | None = None) -> None:
    """Run ``regionpaint train`` for one model in a subprocess (one thread: CPU runs share the machine)."""
    argv = [sys.executable, "-m", "regionpaint", *train_command(name, work, steps)]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    with open(work / f"{name}.log", "a", encoding="utf-8") as out:
        subprocess.run(argv, check=True, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)


def final_losses(run_dir: Path, last: int = 20) -> dict[str, float]:
    """Mean of each loss over the last ``last`` logged steps of a run's ``loss_log.jsonl``."""
    rows = [json.loads(line) for line in (run_dir / "loss_log.jsonl").read_text().splitlines() if line.strip()]
    rows = [row["losses"] for row in rows if "losses" in row][-last:]
    return {key: round(float(np.mean([r[key] for r in rows if key in r])), 4) for key in rows[-1]} if rows else {}


def last_step(run_dir: Path) -> int | None:
    """The last step a run logged (its loss log), or None for a run that logged nothing."""
    log_file = run_dir / "loss_log.jsonl"
    if not log_file.is_file():
        return None
    steps = [json.loads(line).get("step") for line in log_file.read_text().splitlines() if line.strip()]
    steps = [step for step in steps if isinstance(step, int)]
    return steps[-1] if steps else None


def training_seconds(run_dir: Path) -> float | None:
    """Wall-clock seconds a run spent training: the sum of the gaps between logged steps, without the pauses
    between a stop and its ``--resume`` (gaps over ten minutes)."""
    log_file = run_dir / "loss_log.jsonl"
    if not log_file.is_file():
        return None
    times = [json.loads(line).get("time") for line in log_file.read_text().splitlines() if line.strip()]
    gaps = np.diff([t for t in times if isinstance(t, (int, float))])
    return round(float(gaps[gaps < 600].sum()), 1) if gaps.size else None


def export_model(name: str, work: Path) -> Path:
    """Load a finished run with its engine and write ``models/<name>.safetensors`` in float16."""
    import torch

    from regionpaint.engines.loading.checkpoint import convert_safetensors_dtype
    from regionpaint.plugins.manager import get_plugin_manager

    engine = get_plugin_manager().engine_class(MODELS[name].engine)()
    engine.load(work / name, "cpu")
    if getattr(engine, "has_encoder", False) and not getattr(engine, "has_clusters", True):
        # A run stopped before its end has no cluster file yet: make it as the trainer would at the end.
        engine.compute_clusters(_street_sources(work / f"{MODELS[name].dataset}_data"), n_clusters=10, seed=0)
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    path = engine.save(MODELS_DIR / f"{name}.safetensors")
    return convert_safetensors_dtype(path, torch.float16)


def _street_sources(folder: Path, count: int = 100) -> list:
    """The first ``count`` training pairs of a street dataset as style sources (photo, labels, instances)."""
    from regionpaint.app.model.imports import read_instance_map, read_label_map, read_photo
    from regionpaint.engines.base import StyleSource

    sources = []
    for photo in sorted((folder / "train_img").glob("*.png"))[:count]:
        label = read_label_map(folder / "train_label" / photo.name, None)
        instance = read_instance_map(folder / "train_inst" / photo.name)
        sources.append(StyleSource(photo.stem, read_photo(photo), label, instance))
    return sources


def _face_with_hair(family: int, dark: bool):
    """The first held-out face (seed family ``family``) with plenty of dark (or light) hair."""
    from tools.demo import make_face

    for index in range(200):
        face = make_face(seed=[family, index], size=FACE_SIZE)
        share, brightness = (face.label == HAIR).mean(), sum(face.style.hair_rgb)
        if share > 0.15 and ((brightness < 200) if dark else (brightness > 450)):
            return face
    raise RuntimeError("no suitable demo face found")


def face_document():
    """The face demo opens as a photo being edited: its photo, its own segmentation as the baseline, the photo
    as every region's style (source ``photo``) and sources A and B to restyle regions with; renders are
    composited onto the photo (feather, colours matched around the edit)."""
    from regionpaint.app.model import Document, StyleSourceData, edits
    from regionpaint.app.model.edit_mask import start_photo_edit
    from regionpaint.app.model.labelsets import CELEBAMASK_HQ

    face, source_a, source_b = _face_with_hair(1, dark=True), _face_with_hair(2, dark=True), _face_with_hair(3, False)
    doc = Document(face.label, CELEBAMASK_HQ.id, photo=face.photo)
    start_photo_edit(doc)
    for name, source in (("A", source_a), ("B", source_b)):
        edits.add_style_source(doc, name, StyleSourceData(source.photo, source.label, None, f"face {name}"))
    edits.set_engine_settings(doc, engine_id="sean", checkpoint="models/sean_faces.safetensors", seed=0)
    edits.set_composite_settings(doc, mode="feather", harmonize=True)
    doc.history.clear()
    return doc


def street_document(engine_id: str, checkpoint: str):
    from regionpaint.app.model import Document, edits
    from regionpaint.app.model.labelsets import CITYSCAPES
    from tools.demo import make_street

    street = make_street(seed=[1, 0], size=STREET_SIZE)
    doc = Document(street.label, CITYSCAPES.id, photo=street.photo, instance=street.instance)
    edits.set_engine_settings(doc, engine_id=engine_id, checkpoint=checkpoint, seed=0)
    doc.history.clear()
    return doc


DOCUMENTS = {
    "faces.rpaint": lambda: face_document(),
    "streets.rpaint": lambda: street_document("spade", "models/spade_streets.safetensors"),
    "streets_pix2pixhd.rpaint": lambda: street_document("pix2pixhd", "models/pix2pixhd_streets.safetensors"),
}


def write_documents(names: list[str] | None = None) -> list[Path]:
    """Write the demo documents (all, or those named) into ``assets/demo``."""
    from regionpaint.app.model.project import save_project

    names = list(DOCUMENTS) if names is None else names
    for name in names:
        save_project(DOCUMENTS[name](), DEMO_DIR / name)
    return [DEMO_DIR / name for name in names]


def write_manifest(work: Path, seconds: dict[str, float]) -> Path:
    manifest = {"how": "python -m tools.demo.build (see its docstring)", "datasets": {}, "models": {}}
    for key, spec in DATASETS.items():
        manifest["datasets"][key] = {"kind": spec.kind, "count": spec.count, "size": spec.size, "seed": spec.seed}
    for name, model in MODELS.items():
        run_dir, path = work / name, MODELS_DIR / f"{name}.safetensors"
        steps = last_step(run_dir)
        manifest["models"][name] = {
            "engine": model.engine,
            "command": shlex.join(["regionpaint", *train_command(name, Path("WORK"))]),
            "steps_reached": steps,
            # The bundled models were stopped by the time budget of the session that trained them.
            "stopped_before_steps": steps is not None and steps < model.steps,
            "final_losses": final_losses(run_dir) if (run_dir / "loss_log.jsonl").is_file() else {},
            "train_seconds": seconds.get(name) or training_seconds(run_dir),
            "file": f"models/{name}.safetensors",
            "bytes": path.stat().st_size if path.is_file() else None,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None,
        }
    out = DEMO_DIR / "MANIFEST.json"
    out.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.demo.build", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work", type=Path, help="datasets and training runs go here (required unless --documents-only)"
    )
    parser.add_argument("--only", choices=sorted(MODELS), action="append", help="train only these models")
    parser.add_argument("--steps", type=int, help="override every model's step count")
    parser.add_argument("--export-only", action="store_true", help="skip training: export finished runs")
    parser.add_argument(
        "--documents-only",
        choices=sorted(DOCUMENTS),
        action="append",
        help="only rewrite these demo documents (no datasets, training, export or manifest)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.documents_only:
        for path in write_documents(args.documents_only):
            log.info("wrote %s", path)
        return 0
    if args.work is None:
        parser.error("--work is required (unless --documents-only)")
    args.work.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    if not args.export_only:
        make_datasets(args.work)
        for name in args.only or list(MODELS):
            start = time.monotonic()
            train(name, args.work, args.steps)
            seconds[name] = round(time.monotonic() - start, 1)
    for name in MODELS:
        if (args.work / name / "latest_net_G.pth").is_file():
            log.info("exported %s", export_model(name, args.work))
    for path in write_documents():
        log.info("wrote %s", path)
    log.info("wrote %s", write_manifest(args.work, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
