"""The OLD code for side-by-side timing: plain official-style forwards over the raw state dict.

These are the independent references the parity tests check against the official outputs
(``tests/test_spade_reference.py``, ``tests/test_sean_reference_impl.py``): spectral norm computed from
``weight_orig/u/v`` on every call, every SPADE branch a full convolution, SEAN's per-class Python loops,
as the official forward does. pix2pixHD's official network is a plain ``nn.Sequential``; the engine holds
the same modules, so its old forward is the module itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _references() -> tuple[Any, Any]:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests import test_sean_reference_impl as sean_ref
    from tests import test_spade_reference as spade_ref

    return spade_ref, sean_ref


def spade_forward(state: dict, seg: Any, latent: tuple[int, int], num_up: str) -> Callable[[], Any]:
    """A no-argument callable running the official SPADE generator forward on ``seg`` (1, C, H, W)."""
    spade_ref, _ = _references()
    return lambda: spade_ref.reference_generator(state, seg, latent, num_up)


def sean_forward(state: dict, seg: Any, image: Any, latent: tuple[int, int], more: bool) -> Callable[[], Any]:
    """The official SEAN test forward: Zencoder region codes of ``image`` under ``seg``, then the generator
    with noise (sw, sh = ``latent``)."""
    _, sean_ref = _references()
    sw, sh = latent

    def run() -> Any:
        codes = sean_ref.ref_zencoder(state, image, seg)
        return sean_ref.ref_generator(state, seg, codes, True, sw, sh, more)

    return run
