"""Fetching one file from one source: plain HTTP(S), a Hugging Face Hub mirror, or Google Drive.

- **url**: the standard library's ``urllib`` with ``Range`` requests. A ``<file>.part`` grows as bytes arrive;
  a dropped connection is retried from where it stopped, and a later run (after Ctrl+C, a crash, a cancelled
  download in the editor) resumes it. ``If-Range`` with the server's ETag / Last-Modified makes a server whose
  file changed send the whole file again instead of a mismatched tail.
- **hf**: ``huggingface_hub.hf_hub_download`` when the package is installed (``pip install 'regionpaint[models]'``):
  it resolves the revision, resumes, honours ``HF_HUB_OFFLINE``, ``HF_ENDPOINT`` and tokens, and uses the Hub's
  fast transfer where available. Without it the file's plain ``/resolve/`` URL is fetched as above.
- **gdrive**: ``gdown`` (optional, ``pip install gdown``): Drive's confirmation pages and quota answers change
  too often for a hand-written client; without gdown the source is skipped with that advice.

Every fetch is bounded (a server cannot make us write more than the catalog's size, or the layout's tensor
bytes plus slack), reports ``(done, total)`` progress, and stops between chunks when ``cancel`` is set.
"""

from __future__ import annotations

import hashlib
import http.client
import inspect
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from threading import Event

from regionpaint.app.model_manager.catalog import Source
from regionpaint.app.model_manager.errors import Cancelled

log = logging.getLogger(__name__)

Progress = Callable[[int, "int | None"], None]
CHUNK = 1 << 20
TIMEOUT_S = 60  # per socket operation: a stalled server fails the attempt (and is resumed) instead of hanging
ATTEMPTS = 3  # per source and run: dropped connections resume this many times before the next source
HF_ENDPOINT_ENV = "HF_ENDPOINT"
HF_OFFLINE_ENV = "HF_HUB_OFFLINE"
DEFAULT_HF_ENDPOINT = "https://huggingface.co"


class SourceFailed(Exception):
    """This source cannot give the file now (404, refused, offline for it, a library missing); try the next."""


def user_agent() -> str:
    import regionpaint

    return f"regionpaint/{regionpaint.__version__}"


def fetch(
    source: Source,
    dest: Path,
    *,
    max_bytes: int,
    progress: Progress | None = None,
    cancel: Event | None = None,
) -> Path:
    """Download ``source`` to ``dest`` (resuming ``dest.part``); SourceFailed to move on, Cancelled to stop."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    progress = progress or (lambda done, total: None)
    cancel = cancel or Event()
    if source.kind == "url":
        return http_download(source.url, dest, max_bytes=max_bytes, progress=progress, cancel=cancel)
    if source.kind == "hf":
        return hf_download(source, dest, max_bytes=max_bytes, progress=progress, cancel=cancel)
    if source.kind == "gdrive":
        return gdrive_download(source, dest, max_bytes=max_bytes, progress=progress, cancel=cancel)
    raise SourceFailed(f"{source.describe()}: nothing to download automatically; open it in a browser")


# -- plain HTTP ----------------------------------------------------------------------------------------------


def _part_paths(dest: Path, source_key: str) -> tuple[Path, Path]:
    """The partial file of one source and its validator record. Each source keeps its own, so trying a mirror
    that answers 404 never throws away what another source already sent."""
    tag = hashlib.sha1(source_key.encode("utf-8")).hexdigest()[:8]
    part = dest.with_name(f"{dest.name}.{tag}.part")
    return part, part.with_name(part.name + ".json")


def _remove_other_parts(dest: Path) -> None:
    for stale in dest.parent.glob(f"{dest.name}.*.part*"):
        stale.unlink(missing_ok=True)


def _read_validator(meta: Path, url: str) -> dict:
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("url") == url else {}


def http_download(
    url: str, dest: Path, *, max_bytes: int, progress: Progress, cancel: Event, attempts: int = ATTEMPTS
) -> Path:
    part, meta = _part_paths(dest, url)
    validator = _read_validator(meta, url)
    if not validator and part.exists():
        part.unlink()  # a partial file without its server's record cannot be trusted to continue
    last_error = ""
    for attempt in range(attempts):
        if cancel.is_set():
            raise Cancelled(f"download of {dest.name} stopped; run it again to resume")
        try:
            if _http_attempt(url, part, meta, validator, max_bytes, progress, cancel, dest.name):
                part.replace(dest)
                _remove_other_parts(dest)
                return dest
            last_error = "the connection closed before the end of the file"
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and part.exists():  # asked past the end: the server has a different file now
                part.unlink()
                meta.unlink(missing_ok=True)
                validator = {}
                last_error = "the server's file changed"
                continue
            if 500 <= exc.code < 600:
                last_error = f"HTTP {exc.code} {exc.reason}"
            else:
                raise SourceFailed(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            last_error = f"{type(reason).__name__}: {reason}" if not isinstance(reason, str) else reason
        validator = _read_validator(meta, url)
        log.info("%s: attempt %d failed (%s); resuming", url, attempt + 1, last_error)
        time.sleep(min(2.0, 0.25 * (attempt + 1)))
    have = part.stat().st_size if part.exists() else 0
    kept = f"; {have} bytes kept for the next run to resume" if have else ""
    raise SourceFailed(f"{url}: {last_error}{kept}")


def _http_attempt(
    url: str, part: Path, meta: Path, validator: dict, max_bytes: int, progress: Progress, cancel: Event, name: str
) -> bool:
    """One request; True when the file is complete in ``part``."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": user_agent(), "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
        tag = validator.get("etag") or validator.get("last_modified")
        if tag:
            headers["If-Range"] = tag
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, _abort_on_cancel(response, cancel):
        status = response.status
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if status == 206:
            start = _content_range_start(response.headers.get("Content-Range", ""))
            if start != have:
                raise SourceFailed(f"{url}: the server resumed at byte {start}, not {have}")
        else:
            have = 0  # 200: the whole file (the server ignored the range, or the file changed)
        total = have + length if length is not None else None
        if total is not None and total > max_bytes:
            raise SourceFailed(f"{url}: the server offers {total} bytes, more than the {max_bytes} expected")
        etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        meta.write_text(json.dumps({"url": url, "etag": etag, "last_modified": modified}), encoding="utf-8")
        with open(part, "ab" if have else "wb") as out:
            done = have
            progress(done, total)
            while True:
                if cancel.is_set():
                    raise Cancelled(f"download of {name} stopped at {done} bytes; run it again to resume")
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                done += len(chunk)
                if done > max_bytes:
                    raise SourceFailed(f"{url}: more than the {max_bytes} bytes expected; not a file of this model")
                out.write(chunk)
                progress(done, total)
    if cancel.is_set():  # the watcher closed the connection: the end of the stream is not the end of the file
        raise Cancelled(f"download of {name} stopped at {done} bytes; run it again to resume")
    return total is None or done == total


class _abort_on_cancel:  # noqa: N801 - used as a context manager, named for what it does
    """While the body is read, a watcher shuts the connection down when ``cancel`` is set: a read blocked on a
    stalled server returns at once instead of after the socket timeout, so Cancel is immediate."""

    def __init__(self, response, cancel: Event) -> None:
        self.response, self.cancel, self.done = response, cancel, Event()

    def __enter__(self):
        threading.Thread(target=self._watch, daemon=True, name="download-cancel").start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()

    def _watch(self) -> None:
        while not self.done.wait(0.1):
            if self.cancel.is_set():
                try:  # shutdown acts on the connection behind the duplicated descriptor: the blocked recv returns
                    with socket.fromfd(self.response.fileno(), socket.AF_INET, socket.SOCK_STREAM) as sock:
                        sock.shutdown(socket.SHUT_RDWR)
                except (OSError, ValueError):
                    pass
                return


def _content_range_start(value: str) -> int:
    try:  # "bytes 100-199/200"
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return -1


# -- Hugging Face Hub ----------------------------------------------------------------------------------------


def hub_offline() -> bool:
    return os.environ.get(HF_OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def hf_resolve_url(source: Source) -> str:
    endpoint = os.environ.get(HF_ENDPOINT_ENV, "").rstrip("/") or DEFAULT_HF_ENDPOINT
    return f"{endpoint}/{source.repo}/resolve/{source.revision}/{source.path}"


def hf_download(source: Source, dest: Path, *, max_bytes: int, progress: Progress, cancel: Event) -> Path:
    if hub_offline():
        raise SourceFailed(f"{source.describe()}: {HF_OFFLINE_ENV} is set; the Hub is not contacted")
    try:
        import huggingface_hub
    except ImportError:
        log.info("huggingface_hub is not installed; fetching %s over plain HTTPS", hf_resolve_url(source))
        return http_download(hf_resolve_url(source), dest, max_bytes=max_bytes, progress=progress, cancel=cancel)
    local_dir = dest.parent / f".hub-{dest.name}"
    kwargs = {}
    if "tqdm_class" in inspect.signature(huggingface_hub.hf_hub_download).parameters:
        kwargs["tqdm_class"] = _progress_tqdm(progress, cancel, max_bytes)
    try:
        path = huggingface_hub.hf_hub_download(
            repo_id=source.repo,
            filename=source.path,
            revision=source.revision,
            local_dir=local_dir,
            endpoint=os.environ.get(HF_ENDPOINT_ENV) or None,
            **kwargs,
        )
    except (Cancelled, SourceFailed):
        raise
    except Exception as exc:  # the Hub client raises its own HTTP, offline and repository errors
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceFailed(f"{source.describe()}: {message}") from None
    Path(path).replace(dest)
    _remove_tree(local_dir)
    _remove_other_parts(dest)
    return dest


def _progress_tqdm(progress: Progress, cancel: Event, max_bytes: int):
    """A tqdm class for ``hf_hub_download`` that reports to ``progress`` and stops on ``cancel``."""
    from tqdm.auto import tqdm

    class ProgressTqdm(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True  # the caller draws its own bar; a disabled tqdm does not count, so we do
            super().__init__(*args, **kwargs)
            self.done = int(kwargs.get("initial") or 0)
            if self.total is not None and self.total > max_bytes:
                raise SourceFailed(f"the Hub offers {self.total} bytes, more than the {max_bytes} expected")

        def update(self, n=1):
            self.done += int(n or 0)
            progress(self.done, int(self.total) if self.total else None)
            if cancel.is_set():
                raise Cancelled("download stopped; run it again to resume")

    return ProgressTqdm


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


# -- Google Drive --------------------------------------------------------------------------------------------


def gdrive_download(source: Source, dest: Path, *, max_bytes: int, progress: Progress, cancel: Event) -> Path:
    try:
        import gdown
    except ImportError:
        raise SourceFailed(
            f"{source.describe()}: Google Drive downloads need gdown (pip install gdown, or 'regionpaint[models]')"
        ) from None
    part, _ = _part_paths(dest, f"gdrive:{source.id}")
    parameters = inspect.signature(gdown.download).parameters
    kwargs: dict = {"quiet": True}
    if "resume" in parameters:
        kwargs["resume"] = True
    if "cancel" in parameters:
        kwargs["cancel"] = cancel
    if "progress" in parameters:

        def report(done: int, total: int | None) -> None:
            if done > max_bytes:
                raise SourceFailed(f"{source.describe()}: more than the {max_bytes} bytes expected")
            progress(done, total)

        kwargs["progress"] = report
    try:
        out = gdown.download(id=source.id, output=str(part), **kwargs)
    except (Cancelled, SourceFailed):
        raise
    except Exception as exc:  # gdown raises FileURLRetrievalError and requests' errors
        message = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise SourceFailed(f"{source.describe()}: {message}") from None
    if cancel.is_set():
        raise Cancelled(f"download of {dest.name} stopped; run it again to resume")
    if not out or not part.is_file():
        raise SourceFailed(f"{source.describe()}: Google Drive gave no file")
    if part.stat().st_size > max_bytes:
        part.unlink()
        raise SourceFailed(f"{source.describe()}: more than the {max_bytes} bytes expected")
    part.replace(dest)
    _remove_other_parts(dest)
    return dest
