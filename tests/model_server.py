"""A loopback HTTP server for the model manager's tests: serves files with Range support, answers 404 for
chosen paths, can drop or stall a download midway, answers the Hub's ``/resolve/`` HEAD as the Hub does,
and records every request (so a test can assert that ``--offline`` made none)."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HUB_COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Served:
    data: bytes
    drop_after: int | None = None  # the next GET sends this many bytes, then closes the connection (once)
    stall_after: int | None = None  # every GET sends this many bytes, then waits (a download to interrupt)


@dataclass
class ModelServer:
    files: dict[str, Served] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):
                self._answer(body=False)

            def do_GET(self):
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                server.requests.append((self.command, self.path, dict(self.headers)))
                served = server.files.get(self.path.split("?")[0])
                if served is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data, start = served.data, 0
                etag = '"' + hashlib.sha256(data).hexdigest() + '"'
                wanted = self.headers.get("Range", "")
                if wanted.startswith("bytes=") and self.headers.get("If-Range", etag) == etag:
                    start = int(wanted[len("bytes=") :].split("-")[0])
                if start >= len(data) > 0:
                    self.send_response(416)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("ETag", etag)
                if "/resolve/" in self.path:  # what the Hub adds, which huggingface_hub reads
                    self.send_header("X-Repo-Commit", HUB_COMMIT)
                self.end_headers()
                if not body:
                    return
                chunk = data[start:]
                if served.drop_after is not None and start < served.drop_after:
                    cut = served.drop_after - start
                    served.drop_after = None
                    self.wfile.write(chunk[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if served.stall_after is not None and start < served.stall_after:
                    self.wfile.write(chunk[: served.stall_after - start])
                    self.wfile.flush()
                    time.sleep(60)  # the test kills the client meanwhile
                    self.close_connection = True
                    return
                self.wfile.write(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, data: bytes, **kwargs) -> str:
        self.files[path] = Served(data, **kwargs)
        return self.url(path)

    def gets(self, path: str) -> list[dict[str, str]]:
        return [headers for method, p, headers in self.requests if method == "GET" and p.split("?")[0] == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
