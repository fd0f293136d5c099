"""The readers an engine uses for the files of a checkpoint in its own layout, with the host's safety checks.

An engine that claims a layout of its own (``Engine.locate``) opens its files in its own ``load``; these give
it the guarantees of the built-in loader in one call each, so a stranger's checkpoint is no more dangerous
through a plugin than through regionpaint itself:

* :func:`read_checkpoint_json`: regular files only (a FIFO named ``config.json`` would block the reader for
  ever), the size, depth and number bounds of :mod:`regionpaint.untrusted`; torch-free, so ``locate`` can
  use it while the editor lists folders.
* :func:`read_state_dict`: a ``.safetensors`` file, or ``torch.load(weights_only=True)`` of anything else
  (never unpickling code: a file holding more than tensors is refused with what to do about it).

Both raise :class:`CheckpointError` with one line naming the file, which the command line prints as
``regionpaint: error: ...`` and the editor shows in its notice. Public as ``regionpaint.read_checkpoint_json``
and ``regionpaint.read_state_dict``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from regionpaint import untrusted
from regionpaint.engines.base import CheckpointError


@contextmanager
def checkpoint_errors(path: str | Path, what: str, missing: str) -> Iterator[None]:
    """Reading ``path`` (the ``what`` of a checkpoint) inside: a refused or unreadable file becomes one
    :class:`CheckpointError` naming it; ``missing`` ends the message of a file that is not there."""
    try:
        yield
    except untrusted.UntrustedFileError as exc:
        raise CheckpointError(str(exc)) from None
    except FileNotFoundError:
        raise CheckpointError(f"{path}: {missing}") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: the {what} cannot be read ({exc.strerror or type(exc).__name__})") from None


def require_regular(path: Path | str, what: str = "checkpoint file") -> None:
    """Raise :class:`CheckpointError` unless ``path`` is a regular file (a FIFO would block every reader).

    The message names the path and what it is instead ("...: is a named pipe (FIFO), not a file ...").
    Torch-free: the checks on a plugin's claimed files use it while the editor lists folders.
    """
    with checkpoint_errors(path, what, f"no such {what} (a broken link?)"):
        untrusted.check_regular(path)


def read_checkpoint_json(path: str | Path, what: str = "checkpoint configuration") -> Any:
    """The parsed JSON of ``path`` (a config or sidecar of an engine's own layout), read within bounds."""
    with checkpoint_errors(path, what, f"no such {what} file"):
        return untrusted.read_json(path, f"{path}: {what}")


def read_state_dict(path: str | Path) -> dict[str, Any]:
    """{key: torch tensor} of a weights file: ``.safetensors`` by its reader, any other file by
    ``torch.load(..., weights_only=True)`` on the CPU. Tensors are returned as stored (dtype unchanged)."""
    from regionpaint.engines.loading.checkpoint import describe_safetensors_error, load_torch_file

    path = Path(path)
    if path.suffix != ".safetensors":
        return load_torch_file(path)
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    require_regular(path)
    try:
        return dict(load_file(str(path)))
    except (SafetensorError, OSError, ValueError, MemoryError) as exc:
        raise CheckpointError(describe_safetensors_error(path, exc)) from exc
