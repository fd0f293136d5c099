"""The run folder: official checkpoint files plus what a resumed run needs.

Official (``regionpaint render`` and the official ``test.py`` read these):

* ``latest_net_G.pth``, ``latest_net_D.pth``, ``latest_net_E.pth`` (SPADE VAE, pix2pixHD features),
  ``<epoch>_net_*.pth`` every ``save_epoch_freq`` epochs; official state-dict keys.
* ``opt.txt`` (official layout), ``iter.txt`` (``np.savetxt((epoch, epoch_iter))``: two lines, images
  done in the current epoch), ``features_clustered_010.npy`` (pix2pixHD).

regionpaint's own: ``latest_optim.pth`` (both Adam states), ``train_state.json`` (step, epoch, batches done in
the epoch; written last), ``train_options.json``, ``loss_log.jsonl`` and ``samples/``.

Every file is written to a temporary name and renamed (``save_torch_atomic``), so killing the process at any
moment leaves the previous complete file in place; stale temporaries are removed at the next start.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from regionpaint import untrusted
from regionpaint.engines.base import CheckpointError
from regionpaint.engines.loading.checkpoint import load_torch_file, save_torch_atomic, torch_load_tensors
from regionpaint.engines.training.events import LOSS_LOG

log = logging.getLogger(__name__)

STATE_FILE = "train_state.json"
OPTIONS_FILE = "train_options.json"
OPTIM_FILE = "latest_optim.pth"
SAMPLES = "samples"


@dataclass
class TrainState:
    step: int = 0  # iterations done (one G + D update of the global batch each)
    epoch: int = 1  # the epoch in progress (1-based, official)
    epoch_batches: int = 0  # iterations done in that epoch
    generator_params: str = "all"  # pix2pixHD niter_fix_global: "local" while only the enhancer trains


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def readable_by_others(path: Path) -> None:
    """Temp files are created 0600; give the final file the permissions a plain open() would have."""
    try:
        os.chmod(path, 0o666 & ~_umask())
    except OSError:
        pass


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """``write(temp_path)`` then rename over ``path``: readers see the old or the new file, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        readable_by_others(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _save_torch(state: Mapping[str, Any], path: Path) -> Path:
    save_torch_atomic(state, path)
    readable_by_others(path)
    return path


class RunDir:
    """Reading and writing one run folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def prepare(self) -> None:
        """Create the folder (and ``samples/``) and drop temporaries a killed run left behind."""
        (self.path / SAMPLES).mkdir(parents=True, exist_ok=True)
        for stale in self.path.glob(".*.tmp"):
            try:
                stale.unlink()
            except OSError:
                pass

    # ---- options -----------------------------------------------------------------------------------
    def write_options(self, opt_text: str, options_json: str) -> None:
        """``opt.txt`` (the engine's official layout, from its trainer) and ``train_options.json``."""
        write_text_atomic(self.path / "opt.txt", opt_text)
        write_text_atomic(self.path / OPTIONS_FILE, options_json)

    def read_options(self) -> dict[str, Any] | None:
        path = self.path / OPTIONS_FILE
        if not path.is_file():
            return None
        return _read_run_json(path)

    # ---- checkpoints -------------------------------------------------------------------------------
    def network_file(self, role: str, which: str = "latest") -> Path:
        return self.path / f"{which}_net_{role}.pth"

    def save(
        self,
        networks: Mapping[str, Mapping[str, torch.Tensor]],
        optimizers: Mapping[str, Any],
        state: TrainState,
        images_per_epoch_done: int,
        epoch_copy: int | None = None,
    ) -> list[Path]:
        """Write the networks, optimiser states, iter.txt and train_state.json (in that order)."""
        written = []
        for role, weights in networks.items():
            cpu = {k: v.detach().cpu() for k, v in weights.items()}
            written.append(_save_torch(cpu, self.network_file(role)))
            if epoch_copy is not None:
                written.append(_save_torch(cpu, self.network_file(role, str(epoch_copy))))
        written.append(_save_torch(dict(optimizers), self.path / OPTIM_FILE))
        write_text_atomic(self.path / "iter.txt", f"{state.epoch}\n{images_per_epoch_done}\n")
        write_text_atomic(self.path / STATE_FILE, json.dumps(asdict(state), indent=1))
        written += [self.path / "iter.txt", self.path / STATE_FILE]
        return written

    def has_checkpoint(self) -> bool:
        return self.network_file("G").is_file() and (self.path / STATE_FILE).is_file()

    def load_state(self) -> TrainState:
        data = _read_run_json(self.path / STATE_FILE)
        return TrainState(**{k: v for k, v in data.items() if k in TrainState.__dataclass_fields__})

    def load_network(self, role: str) -> dict[str, torch.Tensor] | None:
        path = self.network_file(role)
        return load_torch_file(path) if path.is_file() else None

    def load_optimizers(self) -> dict[str, Any] | None:
        path = self.path / OPTIM_FILE
        if not path.is_file():
            return None
        return torch_load_tensors(path, "optimizer state")

    # ---- logs and samples --------------------------------------------------------------------------
    def append_loss_log(self, record: Mapping[str, Any]) -> None:
        with open(self.path / LOSS_LOG, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def sample_path(self, step: int) -> Path:
        return self.path / SAMPLES / f"step_{step:07d}.png"


def _read_run_json(path: Path) -> dict[str, Any]:
    """A JSON object of the run folder, bounded (regionpaint.untrusted); CheckpointError naming the file."""
    try:
        data = untrusted.read_json(path)
    except untrusted.UntrustedFileError as exc:
        raise CheckpointError(str(exc)) from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def read_iter_txt(path: str | Path) -> tuple[int, int]:
    """(epoch, epoch_iter) of an official ``iter.txt`` (one value per line, or ``a,b``)."""
    values = [int(v) for v in Path(path).read_text().replace(",", "\n").split()]
    return values[0], values[1]
