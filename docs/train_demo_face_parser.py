"""Train BiSeNet briefly on the procedural demo faces, for the fidelity screenshot only (not a real face parser).

    .venv/bin/python docs/train_demo_face_parser.py SECONDS OUT.pth
    DEMO_SEGMENTER_WEIGHTS=OUT.pth xvfb-run -a .venv/bin/python docs/segmenter_screenshots.py

Faces from ``tools.demo.make_face`` at 128 px, upsampled to 512 px (the size BiSeNet works at), random
256 px crops, batch 4, Adam, cross-entropy on the main head, in face-parsing.PyTorch's class order.
The committed screenshot used 900 s on a shared 2-core CPU (89 steps, ~63 % pixel accuracy on new faces).
The file is saved in the public checkpoint's layout, so regionpaint loads it like ``79999_iter.pth``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(seconds: float, out: Path) -> None:
    import torch
    import torch.nn.functional as F
    from PIL import Image

    from regionpaint.engines.segmenters.bisenet.network import FaceBiSeNet
    from regionpaint.engines.segmenters.bisenet.segmenter import BISENET_TO_CELEBAMASK, IMAGENET_MEAN, IMAGENET_STD
    from tools.demo import make_face

    torch.manual_seed(0)
    to_network = np.zeros(19, np.int64)
    to_network[BISENET_TO_CELEBAMASK] = np.arange(19)
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    rng = np.random.default_rng(0)

    def sample() -> tuple[np.ndarray, np.ndarray]:
        face = make_face(seed=[5, int(rng.integers(0, 100000))], size=128)
        photo = np.asarray(Image.fromarray(face.photo).resize((512, 512), Image.BILINEAR))
        label = np.asarray(Image.fromarray(face.label).resize((512, 512), Image.NEAREST))
        y, x = rng.integers(0, 257, 2)
        return photo[y : y + 256, x : x + 256], to_network[label[y : y + 256, x : x + 256]]

    network = FaceBiSeNet().train()
    optimiser = torch.optim.Adam(network.parameters(), 2e-3)
    start, step = time.time(), 0
    while time.time() - start < seconds:
        photos, labels = zip(*(sample() for _ in range(4)), strict=True)
        x = (torch.from_numpy(np.stack(photos)).permute(0, 3, 1, 2).float() / 255 - mean) / std
        loss = F.cross_entropy(network(x), torch.from_numpy(np.stack(labels)))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        step += 1
        print(f"step {step} loss {loss.item():.3f}", flush=True)
    torch.save(network.state_dict(), out)


if __name__ == "__main__":
    main(float(sys.argv[1]), Path(sys.argv[2]))
