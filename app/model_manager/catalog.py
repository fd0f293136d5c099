"""The catalog of known checkpoints: data (``catalog.json``), parsed and checked here.

A catalog document (the built-in ``catalog.json``, a file named in ``REGIONPAINT_MODEL_CATALOG``, or what a
plugin passes to ``register(...)`` in its ``register_models`` hook) is a JSON object::

    {"schema": 1,
     "licences": {ID: {"title", "url", "non_commercial"}},          # optional: added to the built-in ones
     "archives": {NAME: {"filename", "format", "size", "sha256", "sources": [...]}},
     "layouts":  {NAME: {"description", "nets": {ROLE: [[key, shape, dtype], ...]}}},   # inline layouts
     "entries":  [{"name", "title", "kind", "engine" | "segmenter", "label_set", "purpose", "licence",
                   "homepage", "layout", "notes", "files": [{"role", "path", "size", "sha256", "optional",
                                                             "sources": [...]}]}]}

A source is ``{"kind": "url", "url"}``, ``{"kind": "hf", "repo", "path", "revision"}`` (a Hugging Face Hub
mirror), ``{"kind": "gdrive", "id"}``, ``{"kind": "archive", "archive", "member"}`` (a member of a catalog
archive) or ``{"kind": "page", "url"}`` (a page a person opens: nothing to download automatically); each may
say ``"official": true`` (from the project's own README) and carry a ``"note"``. Sources are tried in order.
``catalog.schema.json`` states the same rules as a JSON Schema for plugin authors; this parser enforces them
at run time (unknown fields included, so a typo is an error rather than a silently ignored mirror).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regionpaint.app.model_manager.errors import ModelError
from regionpaint.app.model_manager.layouts import Layout, builtin_layout, parse_layout

log = logging.getLogger(__name__)

CATALOG_FILE = Path(__file__).resolve().parent / "catalog.json"
SCHEMA_FILE = Path(__file__).resolve().parent / "catalog.schema.json"
CATALOG_ENV = "REGIONPAINT_MODEL_CATALOG"  # extra catalog files (os.pathsep-separated), e.g. a test catalog
SCHEMA_VERSION = 1

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
FILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # one plain file name: no folders, no '..'
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
HF_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
KINDS = ("engine", "segmenter")
ROLES = ("G", "E", "weights", "checkpoint", "opt", "sidecar", "features")
WEIGHT_ROLES = ("G", "E", "weights", "checkpoint")  # roles whose tensors are checked against the layout
SOURCE_KINDS = ("url", "hf", "gdrive", "archive", "page")
ARCHIVE_FORMATS = ("tar", "zip")


@dataclass(frozen=True)
class Licence:
    id: str
    title: str
    url: str = ""
    non_commercial: bool = False


@dataclass(frozen=True)
class Source:
    kind: str
    url: str = ""
    repo: str = ""
    path: str = ""
    revision: str = "main"
    id: str = ""
    archive: str = ""
    member: str = ""
    official: bool = False
    note: str = ""

    def describe(self) -> str:
        """Where this is, in one line a person can follow by hand."""
        where = {
            "url": self.url,
            "page": self.url,
            "hf": f"https://huggingface.co/{self.repo}/blob/{self.revision}/{self.path}",
            "gdrive": f"https://drive.google.com/file/d/{self.id}/view",
            "archive": f"{self.member} inside archive {self.archive!r}",
        }[self.kind]
        return where + (" (official)" if self.official else "")


@dataclass(frozen=True)
class Archive:
    name: str
    filename: str
    format: str
    sources: tuple[Source, ...]
    size: int | None = None
    sha256: str | None = None
    origin: str = ""


@dataclass(frozen=True)
class ModelFile:
    role: str
    path: str  # the file's name in the installed folder
    sources: tuple[Source, ...]
    size: int | None = None
    sha256: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class Entry:
    name: str
    title: str
    kind: str  # "engine" or "segmenter"
    target: str  # the engine or segmenter id
    label_set: str
    purpose: str
    licence: Licence
    layout: str
    files: tuple[ModelFile, ...]
    homepage: str = ""
    notes: str = ""
    origin: str = ""  # the catalog file or plugin that declared it

    @property
    def non_commercial(self) -> bool:
        return self.licence.non_commercial

    def weight_files(self) -> list[ModelFile]:
        return [f for f in self.files if f.role in WEIGHT_ROLES]

    def archives(self) -> list[str]:
        return list(dict.fromkeys(s.archive for f in self.files for s in f.sources if s.kind == "archive"))


@dataclass
class Catalog:
    entries: dict[str, Entry] = field(default_factory=dict)
    archives: dict[str, Archive] = field(default_factory=dict)
    licences: dict[str, Licence] = field(default_factory=dict)
    layouts: dict[str, Layout] = field(default_factory=dict)  # inline ones; built-ins load by name

    def entry(self, name: str) -> Entry:
        try:
            return self.entries[name]
        except KeyError:
            known = ", ".join(sorted(self.entries)) or "none"
            raise ModelError(f"no model named {name!r} in the catalog (known: {known})") from None

    def layout(self, name: str) -> Layout:
        layout = self.layouts.get(name) or builtin_layout(name)
        if layout is None:
            raise ModelError(f"the catalog names layout {name!r}, which does not exist")
        return layout

    def entries_for(self, kind: str, target: str) -> list[Entry]:
        return [e for e in self.entries.values() if e.kind == kind and e.target == target]

    def add_document(self, data: Any, origin: str) -> None:
        """Add a catalog document's licences, layouts, archives and entries (all checked first)."""
        parsed = _Parser(origin, self).parse(data)
        clashes = [n for n in parsed.entries if n in self.entries] + [n for n in parsed.archives if n in self.archives]
        if clashes:
            name = clashes[0]
            other = (self.entries.get(name) or self.archives[name]).origin
            raise ModelError(f"{origin}: model {name!r} is already declared by {other}")
        self.licences.update(parsed.licences)
        self.layouts.update(parsed.layouts)
        self.archives.update(parsed.archives)
        self.entries.update(parsed.entries)


class _Parser:
    """Checks one catalog document; every message names the origin and the entry."""

    def __init__(self, origin: str, base: Catalog) -> None:
        self.origin = origin
        self.base = base

    def fail(self, where: str, problem: str) -> ModelError:
        return ModelError(f"{self.origin}: {where}: {problem}")

    def fields(self, obj: Any, where: str, required: Iterable[str], optional: Iterable[str]) -> Mapping[str, Any]:
        if not isinstance(obj, Mapping):
            raise self.fail(where, "must be an object")
        required = tuple(required)
        allowed = set(required) | set(optional)
        for key in required:
            if key not in obj:
                raise self.fail(where, f"missing field {key!r}")
        for key in obj:
            if key not in allowed:
                raise self.fail(where, f"unknown field {key!r} (allowed: {', '.join(sorted(allowed))})")
        return obj

    def text(self, obj: Mapping[str, Any], key: str, where: str, default: str = "") -> str:
        value = obj.get(key, default)
        if not isinstance(value, str):
            raise self.fail(where, f"field {key!r} must be a string")
        return value

    def size(self, obj: Mapping[str, Any], where: str) -> int | None:
        value = obj.get("size")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise self.fail(where, "field 'size' must be a positive number of bytes or null")
        return value

    def sha256(self, obj: Mapping[str, Any], where: str) -> str | None:
        value = obj.get("sha256")
        if value is not None and not (isinstance(value, str) and SHA256_RE.match(value)):
            raise self.fail(where, "field 'sha256' must be 64 lowercase hex digits or null")
        return value

    def parse(self, data: Any) -> Catalog:
        doc = self.fields(data, "catalog", ("schema",), ("licences", "archives", "layouts", "entries"))
        if doc["schema"] != SCHEMA_VERSION:
            raise self.fail("catalog", f"schema {doc['schema']!r} is not {SCHEMA_VERSION}")
        out = Catalog()
        for licence_id, raw in dict(doc.get("licences", {})).items():
            where = f"licence {licence_id!r}"
            self.fields(raw, where, ("title",), ("url", "non_commercial"))
            if not isinstance(raw.get("non_commercial", False), bool):
                raise self.fail(where, "field 'non_commercial' must be true or false")
            out.licences[licence_id] = Licence(
                licence_id,
                self.text(raw, "title", where),
                self.text(raw, "url", where),
                raw.get("non_commercial", False),
            )
        for name, raw in dict(doc.get("layouts", {})).items():
            if not NAME_RE.match(name.replace("_", "-")):
                raise self.fail(f"layout {name!r}", "a layout name is lowercase letters, digits, '_' and '-'")
            self.fields(raw, f"layout {name!r}", ("nets",), ("description", "name"))
            out.layouts[name] = parse_layout({**raw, "name": name}, f"{self.origin}: layout {name!r}")
        for name, raw in dict(doc.get("archives", {})).items():
            out.archives[name] = self.archive(name, raw)
        entries = doc.get("entries", [])
        if not isinstance(entries, list):
            raise self.fail("catalog", "'entries' must be a list")
        for raw in entries:
            entry = self.entry(raw, out)
            if entry.name in out.entries:
                raise self.fail(f"entry {entry.name!r}", "declared twice")
            out.entries[entry.name] = entry
        return out

    def archive(self, name: str, raw: Any) -> Archive:
        where = f"archive {name!r}"
        if not NAME_RE.match(name):
            raise self.fail(where, "a name is lowercase letters, digits, '.', '_' and '-'")
        self.fields(raw, where, ("filename", "format", "sources"), ("size", "sha256", "note"))
        filename = self.text(raw, "filename", where)
        if not FILE_NAME_RE.match(filename):
            raise self.fail(where, f"filename {filename!r} must be a plain file name")
        if raw["format"] not in ARCHIVE_FORMATS:
            raise self.fail(where, f"format must be one of {', '.join(ARCHIVE_FORMATS)}")
        sources = self.sources(raw["sources"], where, archives=None)
        if any(s.kind == "archive" for s in sources):
            raise self.fail(where, "an archive's sources are downloads, not other archives")
        return Archive(
            name, filename, raw["format"], sources, self.size(raw, where), self.sha256(raw, where), self.origin
        )

    def sources(self, raw: Any, where: str, archives: Mapping[str, Archive] | None) -> tuple[Source, ...]:
        if not isinstance(raw, list):
            raise self.fail(where, "'sources' must be a list")
        out = []
        for i, item in enumerate(raw):
            at = f"{where} source {i + 1}"
            kind = item.get("kind") if isinstance(item, Mapping) else None
            needed = {"url": ("url",), "page": ("url",), "hf": ("repo", "path"), "gdrive": ("id",)}
            needed["archive"] = ("archive", "member")
            if kind not in needed:
                raise self.fail(at, f"'kind' must be one of {', '.join(SOURCE_KINDS)}")
            optional = ("official", "note") + (("revision",) if kind == "hf" else ())
            self.fields(item, at, ("kind", *needed[kind]), optional)
            if not isinstance(item.get("official", False), bool):
                raise self.fail(at, "field 'official' must be true or false")
            values = {k: self.text(item, k, at) for k in (*needed[kind], "note")}
            if kind in ("url", "page") and not values["url"].startswith(("https://", "http://")):
                raise self.fail(at, "a url starts with https:// or http://")
            if kind == "hf" and not HF_REPO_RE.match(values["repo"]):
                raise self.fail(at, f"{values['repo']!r} is not a Hub repository id (owner/name)")
            if kind == "archive":
                known = {**(archives or {}), **self.base.archives}
                if values["archive"] not in known:
                    raise self.fail(at, f"names archive {values['archive']!r}, which the catalog does not declare")
                if values["member"].startswith("/") or ".." in values["member"].split("/"):
                    raise self.fail(at, f"member {values['member']!r} must be a relative path inside the archive")
            out.append(
                Source(
                    kind=kind,
                    revision=self.text(item, "revision", at, "main") or "main",
                    official=bool(item.get("official", False)),
                    **values,
                )
            )
        return tuple(out)

    def entry(self, raw: Any, catalog: Catalog) -> Entry:
        name = raw.get("name") if isinstance(raw, Mapping) else None
        where = f"entry {name!r}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise self.fail(where, "'name' must be lowercase letters, digits, '.', '_' and '-' (at most 64)")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise self.fail(where, f"'kind' must be one of {', '.join(KINDS)}")
        target_key = "engine" if kind == "engine" else "segmenter"
        self.fields(
            raw,
            where,
            ("name", "title", "kind", target_key, "label_set", "purpose", "licence", "layout", "files"),
            ("homepage", "notes"),
        )
        licence_id = self.text(raw, "licence", where)
        licence = catalog.licences.get(licence_id) or self.base.licences.get(licence_id)
        if licence is None:
            raise self.fail(where, f"licence {licence_id!r} is not declared in 'licences'")
        layout_name = self.text(raw, "layout", where)
        layout = catalog.layouts.get(layout_name) or self.base.layouts.get(layout_name) or builtin_layout(layout_name)
        if layout is None:
            raise self.fail(where, f"layout {layout_name!r} does not exist (neither built in nor in 'layouts')")
        files = raw["files"]
        if not isinstance(files, list) or not files:
            raise self.fail(where, "'files' must be a non-empty list")
        parsed_files = [self.file(item, f"{where} file {i + 1}", catalog) for i, item in enumerate(files)]
        paths = [f.path for f in parsed_files]
        if len(set(paths)) != len(paths):
            raise self.fail(where, "two files install under the same name")
        weights = [f for f in parsed_files if f.role in WEIGHT_ROLES]
        if not weights:
            raise self.fail(where, "no weights file (role G, E, weights or checkpoint)")
        for f in weights:
            roles = layout.nets.keys() if f.role == "checkpoint" else [f.role]
            if not all(role in layout.nets for role in roles):
                raise self.fail(where, f"file {f.path!r} has role {f.role!r}, which layout {layout_name!r} lacks")
        return Entry(
            name=name,
            title=self.text(raw, "title", where),
            kind=kind,
            target=self.text(raw, target_key, where),
            label_set=self.text(raw, "label_set", where),
            purpose=self.text(raw, "purpose", where),
            licence=licence,
            layout=layout_name,
            files=tuple(parsed_files),
            homepage=self.text(raw, "homepage", where),
            notes=self.text(raw, "notes", where),
            origin=self.origin,
        )

    def file(self, raw: Any, where: str, catalog: Catalog) -> ModelFile:
        self.fields(raw, where, ("role", "path", "sources"), ("size", "sha256", "optional"))
        if raw["role"] not in ROLES:
            raise self.fail(where, f"'role' must be one of {', '.join(ROLES)}")
        path = self.text(raw, "path", where)
        if not FILE_NAME_RE.match(path):
            raise self.fail(where, f"path {path!r} must be a plain file name (no folders, no '..')")
        if not isinstance(raw.get("optional", False), bool):
            raise self.fail(where, "field 'optional' must be true or false")
        sources = self.sources(raw["sources"], where, catalog.archives)
        if not sources:
            raise self.fail(where, "needs at least one source")
        return ModelFile(
            role=raw["role"],
            path=path,
            sources=sources,
            size=self.size(raw, where),
            sha256=self.sha256(raw, where),
            optional=bool(raw.get("optional", False)),
        )


def load_catalog(extra: Iterable[tuple[Any, str]] = (), use_env: bool = True, use_plugins: bool = True) -> Catalog:
    """The built-in catalog, then ``REGIONPAINT_MODEL_CATALOG`` files, then plugins' ``register_models`` documents.

    A broken plugin or extra catalog is logged and skipped (the built-in entries stay usable); a broken built-in
    catalog raises, as the suite checks it.
    """
    from regionpaint.untrusted import read_json

    catalog = Catalog()
    catalog.add_document(read_json(CATALOG_FILE), "the built-in catalog")
    documents: list[tuple[Any, str]] = []
    if use_env:
        for name in filter(None, os.environ.get(CATALOG_ENV, "").split(os.pathsep)):
            try:
                documents.append((read_json(name), name))
            except (OSError, ValueError) as exc:
                log.warning("%s: %s", name, exc)
    if use_plugins:
        documents += _plugin_documents()
    documents += list(extra)
    for data, origin in documents:
        try:
            catalog.add_document(data, origin)
        except ModelError as exc:
            log.warning("%s", exc)
    return catalog


def _plugin_documents() -> list[tuple[Any, str]]:
    """What plugins pass to ``register(...)`` in their ``register_models(register)`` hook."""
    from regionpaint.plugins.manager import get_plugin_manager

    return get_plugin_manager().model_catalogs()


def human_size(size: int | None) -> str:
    """A size for people: ``53.3 MB`` (decimal units, as downloads are shown); ``?`` when unknown."""
    if size is None:
        return "?"
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"
