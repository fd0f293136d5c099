"""A test catalog of tiny models, served from a loopback server (no network): a tarball in the official SPADE
folder layout, a bare ``.pth`` and a ``.safetensors`` checkpoint, each with a layout of its own."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

import torch

from tests.factories import make_tiny_checkpoint
from tests.model_server import ModelServer

REPO = Path(__file__).resolve().parents[1]
DEMO_SAFETENSORS = REPO / "assets" / "demo" / "models" / "spade_streets.safetensors"


def layout_of(state: dict[str, torch.Tensor]) -> list[list]:
    return [[key, list(t.shape), str(t.dtype).replace("torch.", "")] for key, t in state.items()]


def tar_bytes(members: dict[str, bytes], gz: bool = True) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gz else "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def bare_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A tiny segmenter-like state dict (a stand-in for 79999_iter.pth)."""
    gen = torch.Generator().manual_seed(seed)
    return {
        "conv.weight": torch.randn(4, 3, 3, 3, generator=gen),
        "conv.bias": torch.randn(4, generator=gen),
        "bn.running_mean": torch.zeros(4),
        "bn.num_batches_tracked": torch.tensor(0),
    }


def pth_bytes(state: dict[str, torch.Tensor]) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


@dataclass
class ServedModels:
    """Everything the tests need: the served files, the catalog file, and the bytes to compare with."""

    server: ModelServer
    catalog_path: Path
    spade_folder: Path  # the tiny official folder the tarball was made from
    tarball: bytes
    bare: bytes
    safetensors: Path

    def catalog(self) -> dict:
        return json.loads(self.catalog_path.read_text())

    def write_catalog(self, data: dict) -> None:
        self.catalog_path.write_text(json.dumps(data, indent=1))


def make_test_models(tmp: Path, server: ModelServer) -> ServedModels:
    """Serve the tiny models and write a catalog naming them (``REGIONPAINT_MODEL_CATALOG``)."""
    folder = make_tiny_checkpoint(tmp / "src" / "cityscapes_pretrained", label_nc=35, ngf=4, aspect_ratio=2.0)
    generator = torch.load(folder / "latest_net_G.pth", weights_only=True)
    tarball = tar_bytes(
        {
            "cityscapes_pretrained/latest_net_G.pth": (folder / "latest_net_G.pth").read_bytes(),
            "cityscapes_pretrained/opt.txt": (folder / "opt.txt").read_bytes(),
        }
    )
    server.serve("/files/checkpoints.tar.gz", tarball)
    bare_state_dict = bare_state()
    bare = pth_bytes(bare_state_dict)
    server.serve("/files/tiny_seg.pth", bare)
    safetensors = tmp / "src" / DEMO_SAFETENSORS.name
    shutil.copy(DEMO_SAFETENSORS, safetensors)
    shutil.copy(DEMO_SAFETENSORS.with_suffix(".json"), safetensors.with_suffix(".json"))
    server.serve("/test/demo/resolve/main/spade_streets.safetensors", safetensors.read_bytes())
    server.serve("/test/demo/resolve/main/spade_streets.json", safetensors.with_suffix(".json").read_bytes())
    from safetensors import safe_open

    with safe_open(str(safetensors), framework="pt") as handle:
        demo_layout = [[k[2:], list(handle.get_slice(k).get_shape()), "float16"] for k in handle.keys()]
    catalog = {
        "schema": 1,
        "licences": {
            "test-nc": {
                "title": "Test licence, non-commercial",
                "url": "https://example.org/nc",
                "non_commercial": True,
            },
            "test-free": {"title": "Test licence, free", "url": "https://example.org/free"},
        },
        "layouts": {
            "tiny_spade_cityscapes": {"description": "ngf 4", "nets": {"G": layout_of(generator)}},
            "tiny_seg": {"nets": {"weights": layout_of(bare_state_dict)}},
            "demo_spade_streets": {"nets": {"G": demo_layout}},
        },
        "archives": {
            "test-spade-checkpoints": {
                "filename": "checkpoints.tar.gz",
                "format": "tar",
                "size": None,
                "sha256": None,
                "sources": [
                    {"kind": "url", "url": server.url("/gone/checkpoints.tar.gz"), "official": True},
                    {"kind": "url", "url": server.url("/files/checkpoints.tar.gz")},
                ],
            }
        },
        "entries": [
            {
                "name": "test-spade-city",
                "title": "Tiny SPADE · Cityscapes (test)",
                "kind": "engine",
                "engine": "spade",
                "label_set": "cityscapes",
                "purpose": "a tiny SPADE in the official folder layout",
                "licence": "test-nc",
                "layout": "tiny_spade_cityscapes",
                "files": [
                    {
                        "role": "G",
                        "path": "latest_net_G.pth",
                        "sources": [
                            {
                                "kind": "archive",
                                "archive": "test-spade-checkpoints",
                                "member": "cityscapes_pretrained/latest_net_G.pth",
                            }
                        ],
                    },
                    {
                        "role": "opt",
                        "path": "opt.txt",
                        "optional": True,
                        "sources": [
                            {
                                "kind": "archive",
                                "archive": "test-spade-checkpoints",
                                "member": "cityscapes_pretrained/opt.txt",
                            }
                        ],
                    },
                ],
            },
            {
                "name": "test-bare",
                "title": "Tiny segmenter weights (test)",
                "kind": "segmenter",
                "segmenter": "tiny-seg",
                "label_set": "celebamask-hq",
                "purpose": "a bare .pth with a known sha256",
                "licence": "test-free",
                "layout": "tiny_seg",
                "files": [
                    {
                        "role": "weights",
                        "path": "tiny_seg.pth",
                        "size": len(bare),
                        "sha256": hashlib.sha256(bare).hexdigest(),
                        "sources": [{"kind": "url", "url": server.url("/files/tiny_seg.pth")}],
                    }
                ],
            },
            {
                "name": "test-safetensors",
                "title": "Demo SPADE streets from a Hub mirror (test)",
                "kind": "engine",
                "engine": "spade",
                "label_set": "cityscapes",
                "purpose": "a regionpaint .safetensors with its sidecar",
                "licence": "test-free",
                "layout": "demo_spade_streets",
                "files": [
                    {
                        "role": "checkpoint",
                        "path": "spade_streets.safetensors",
                        "sources": [{"kind": "hf", "repo": "test/demo", "path": "spade_streets.safetensors"}],
                    },
                    {
                        "role": "sidecar",
                        "path": "spade_streets.json",
                        "sources": [{"kind": "hf", "repo": "test/demo", "path": "spade_streets.json"}],
                    },
                ],
            },
        ],
    }
    path = tmp / "test-catalog.json"
    path.write_text(json.dumps(catalog, indent=1))
    return ServedModels(server, path, folder, tarball, bare, safetensors)
