"""The load of every built-in engine, written once: :class:`CheckpointEngine` runs the shared pipeline and
each engine fills in only the steps that differ (its architecture from the shapes, its networks, its state).

``load(checkpoint, device)``:

1. ``resolve_device(device)`` (a bad device fails before any weights are read);
2. ``read_checkpoint(checkpoint, self.id)`` (engines/loading/pipeline.py: locate, options, sidecar engine
   check, weights, load stamp);
3. ``config = self.config_from(contents)`` (engine: the architecture, from the shapes and options);
4. ``networks = self.build_networks(config, contents, device)`` (engine: built on meta, checked, on device);
5. ``self.release()``, then ``self.install(config, networks, contents, device)`` (engine: its attributes
   and caches), so a checkpoint that fails in 2-4 leaves the previous networks loaded;
6. one log line (``describe_loaded``).

Engines whose networks are large set ``release_before_loading`` to free the previous ones (and their
device memory) before step 2 instead. Third-party engines may subclass :class:`regionpaint.engines.base.Engine`
directly and implement ``load`` themselves; nothing here is part of the plugin contract.

Torch-free at import (engine modules import this to define their classes); the pipeline and devices are
imported inside :meth:`CheckpointEngine.load`.
"""

from __future__ import annotations

import abc
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from regionpaint.engines.base import Engine

if TYPE_CHECKING:
    import torch

    from regionpaint.engines.loading.pipeline import CheckpointContents

log = logging.getLogger(__name__)


class CheckpointEngine(Engine):
    """An engine loaded by the shared checkpoint pipeline; subclasses implement the abstract steps."""

    # True: drop the previous networks before reading the next checkpoint (peak memory holds one network;
    # a failed load leaves none). False: drop them only once the new ones are built (a failed load keeps them).
    release_before_loading: ClassVar[bool] = False

    def load(self, checkpoint: str | Path, device: str = "auto") -> None:
        """Load an official folder, a bare ``.pth`` or a regionpaint ``.safetensors`` (see the module doc)."""
        from regionpaint.engines.device import resolve_device
        from regionpaint.engines.loading.pipeline import read_checkpoint

        torch_device = resolve_device(device)
        with self._loading():
            if self.release_before_loading:
                self.release()
            contents = read_checkpoint(checkpoint, self.id)
            config = self.config_from(contents)
            networks = self.build_networks(config, contents, torch_device)
            if not self.release_before_loading:
                self.release()
            self._device = str(torch_device)
            self.install(config, networks, contents, torch_device)
        source, described = contents.source("G"), self.describe_loaded(config)
        log.info("loaded %s %s: %s on %s", self.display_name, source, described, self.device)

    def _loading(self) -> contextlib.AbstractContextManager[Any]:
        """Held around the load (an engine whose renders run on other threads returns its lock)."""
        return contextlib.nullcontext()

    @abc.abstractmethod
    def config_from(self, contents: CheckpointContents) -> Any:
        """The architecture and options the checkpoint describes (inferred from its shapes and options);
        CheckpointError naming the file when it is not this engine's or cannot be understood."""

    @abc.abstractmethod
    def build_networks(self, config: Any, contents: CheckpointContents, device: torch.device) -> Any:
        """The networks of ``config`` with the checkpoint's weights
        (regionpaint.engines.loading.pipeline.build_checked), in eval mode on ``device``; CheckpointError naming the
        file and the first bad key."""

    @abc.abstractmethod
    def install(self, config: Any, networks: Any, contents: CheckpointContents, device: torch.device) -> None:
        """Make the built networks this engine's: set its attributes and fresh caches (the previous
        networks were released; ``self._device`` is set)."""

    def describe_loaded(self, config: Any) -> str:
        """The architecture in the load's log line."""
        return str(config)
