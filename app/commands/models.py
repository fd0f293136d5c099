"""``regionpaint models``: list, get, add, verify, remove and locate the official checkpoints.

    regionpaint models                       # = models list: the catalog, what is installed, where, verified or not
    regionpaint models get sean-celebahq     # download (resumable, mirrors), verify, install
    regionpaint models add ~/Downloads/79999_iter.pth   # a file, folder or archive you already have
    regionpaint models verify                # re-hash and re-check every installed model
    regionpaint models remove spade-ade20k
    regionpaint models where [NAME]

``--offline`` (or ``REGIONPAINT_OFFLINE=1``) never opens a connection and says which file to put where.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from regionpaint.app.model_manager.catalog import human_size

ACTIONS = ("list", "get", "add", "verify", "remove", "where")


def register(cli) -> None:
    cli.add_command(
        "models",
        "The official checkpoints: list (the default), get, add, verify, remove, where.",
        configure,
        run,
    )


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output (get: one JSON event a line)")


def configure(parser: argparse.ArgumentParser) -> None:
    _json_flag(parser)
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    _json_flag(sub.add_parser("list", help="catalog entries: what each is for, size, licence, installed or not"))
    get = sub.add_parser("get", help="download, verify and install models (resumes an interrupted download)")
    get.add_argument("names", nargs="+", metavar="NAME", help="catalog names (see `regionpaint models list`)")
    get.add_argument(
        "--accept-licence",
        action="store_true",
        help="accept a non-commercial licence without being asked (asked once otherwise)",
    )
    get.add_argument("--offline", action="store_true", help="never use the network: say which file to put where")
    get.add_argument("--force", action="store_true", help="download again a model that is installed and verified")
    _json_flag(get)
    add = sub.add_parser("add", help="install a file, folder or archive you already downloaded")
    add.add_argument("path", metavar="PATH", help="a .pth/.safetensors file, an official folder or a .tar.gz/.zip")
    add.add_argument("--link", action="store_true", help="link to the file instead of copying it")
    _json_flag(add)
    verify = sub.add_parser(
        "verify", help="re-check installed models: sha256 and every key and shape (exit 1 when one fails)"
    )
    verify.add_argument("names", nargs="*", metavar="NAME", help="models to check (default: every installed one)")
    _json_flag(verify)
    remove = sub.add_parser("remove", help="delete installed models (and, with --cache, partial downloads)")
    remove.add_argument("names", nargs="*", metavar="NAME")
    remove.add_argument("--cache", action="store_true", help="also delete partial downloads and kept archives")
    where = sub.add_parser("where", help="the models folder, or where one model is installed")
    where.add_argument("name", nargs="?", metavar="NAME")
    _json_flag(where)


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "models_command", None) or "list"
    return {
        "list": run_list,
        "get": run_get,
        "add": run_add,
        "verify": run_verify,
        "remove": run_remove,
        "where": run_where,
    }[action](args)


def _manager(args: argparse.Namespace, report=None):
    from regionpaint.app.model_manager.manager import ModelManager, offline_from_env

    manager = ModelManager(offline=bool(getattr(args, "offline", False)) or offline_from_env())
    if report is not None:
        manager.report = report
    return manager


def entry_row(manager, entry) -> dict[str, Any]:
    """One entry as ``models list --json`` prints it (the Models dialog shows the same fields)."""
    state = manager.status(entry)
    return {
        "name": entry.name,
        "title": entry.title,
        "kind": entry.kind,
        entry.kind: entry.target,
        "label_set": entry.label_set,
        "purpose": entry.purpose,
        "size": manager.size_of(entry),
        "licence": {
            "id": entry.licence.id,
            "title": entry.licence.title,
            "url": entry.licence.url,
            "non_commercial": entry.licence.non_commercial,
        },
        "homepage": entry.homepage,
        "notes": entry.notes,
        "layout": entry.layout,
        "status": state.state,
        "detail": state.detail,
        "folder": str(state.folder),
        "files": [
            {
                "role": f.role,
                "path": f.path,
                "size": f.size,
                "sha256": f.sha256,
                "optional": f.optional,
                "sources": [dict(kind=s.kind, where=s.describe(), official=s.official, note=s.note) for s in f.sources],
            }
            for f in entry.files
        ],
        "origin": entry.origin,
    }


def run_list(args: argparse.Namespace) -> int:
    from regionpaint.app.commands.tables import table as _table

    manager = _manager(args)
    rows = [entry_row(manager, e) for e in manager.entries()]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    table = [[r["name"], r["title"], human_size(r["size"]), r["licence"]["id"], r["status"]] for r in rows]
    print(_table(table, ["name", "model", "size", "licence", "status"]))
    installed = [r for r in rows if r["status"] != "not installed"]
    if installed:
        print()
    for r in installed:
        print(f"{r['name']}: {r['folder']}" + (f" ({r['detail']})" if r["detail"] else ""))
    print(
        f"\nModels folder: {manager.root}. `regionpaint models get NAME` downloads one; "
        "`regionpaint models add FILE` installs one you already have."
    )
    non_commercial = sorted({r["licence"]["id"] for r in rows if r["licence"]["non_commercial"]})
    if non_commercial:
        print(f"{', '.join(non_commercial)}: non-commercial use only; asked once before the first download.")
    return 0


class _ProgressBars:
    """tqdm bars on stderr for ``get`` (one per file), or JSON lines on stdout with ``--json``."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.bars: dict[str, Any] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        if self.as_json:
            print(json.dumps(event), flush=True)
            return
        from tqdm import tqdm

        kind = event.get("event")
        if kind == "progress":
            bar = self.bars.get(event["file"])
            if bar is None:
                bar = self.bars[event["file"]] = tqdm(
                    total=event.get("total"),
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=event["file"],
                    file=sys.stderr,
                    leave=True,
                    dynamic_ncols=True,
                )
            if event.get("total") and bar.total != event["total"]:
                bar.total = event["total"]
            bar.update(event["done"] - bar.n)
        elif kind in ("status", "source-failed", "kept", "installed"):
            text = event.get("message") or f"installed in {event.get('folder')}"
            prefix = {"source-failed": "failed: ", "kept": "", "installed": ""}.get(kind, "")
            tqdm.write(f"regionpaint: {event.get('entry') or 'models'}: {prefix}{text}", file=sys.stderr)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def _ask_licence(manager, entry, accept: bool) -> None:
    from regionpaint.app.model_manager.manager import LicenceRequired

    if manager.licence_accepted(entry):
        return
    if not accept:
        if not sys.stdin.isatty():
            raise LicenceRequired(entry)
        print(f"{entry.title} is licensed {entry.licence.title}:\n  {entry.licence.url}", file=sys.stderr)
        answer = input("Accept this licence for your use of the model? (asked once) [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            raise LicenceRequired(entry)
    manager.accept_licence(entry)


def run_get(args: argparse.Namespace) -> int:
    bars = _ProgressBars(args.json)
    manager = _manager(args, bars)
    try:
        for name in args.names:
            entry = manager.catalog.entry(name)
            fresh = args.force or manager.status(entry).state != "verified"
            if fresh and not manager.offline:
                _ask_licence(manager, entry, args.accept_licence)
            manifest = manager.get(name, force=args.force)
            bars.close()
            folder = manager.status(entry).folder
            if args.json:
                print(
                    json.dumps({"event": "done", "entry": name, "folder": str(folder), "files": sorted(manifest.files)})
                )
            else:
                print(f"{name}: installed and verified in {folder}")
                print(_use_hint(entry))
    finally:
        bars.close()
    return 0


def _use_hint(entry) -> str:
    if entry.kind == "engine":
        return f"  render with: regionpaint render --checkpoint {entry.name} --label LABEL.png --out out.png"
    return f"  segment with: regionpaint segment PHOTO --segmenter {entry.target} --out label.png"


def run_add(args: argparse.Namespace) -> int:
    bars = _ProgressBars(args.json)
    manager = _manager(args, bars)
    try:
        manifests = manager.add(args.path, link=args.link)
    finally:
        bars.close()
    for manifest in manifests:
        folder = manager.status(manager.catalog.entry(manifest.entry)).folder
        if args.json:
            print(json.dumps({"event": "done", "entry": manifest.entry, "folder": str(folder)}))
        else:
            print(f"{manifest.entry}: recognised as {manifest.title}, verified and installed in {folder}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    manager = _manager(args)
    results = manager.verify(args.names)
    if args.json:
        print(
            json.dumps([{"name": r.name, "ok": r.ok, "message": r.message, "folder": str(r.folder)} for r in results])
        )
    elif not results:
        print(f"no models installed in {manager.root}")
    for r in results if not args.json else ():
        print(f"{r.name}: {'ok' if r.ok else 'FAILED'}: {r.message}")
    return 0 if all(r.ok for r in results) else 1


def run_remove(args: argparse.Namespace) -> int:
    if not args.names and not args.cache:
        raise ValueError("models remove needs a NAME (or --cache for the partial downloads)")
    manager = _manager(args)
    for name in args.names:
        print(f"{name}: removed {manager.remove(name)}")
    if args.cache:
        print(f"cache: freed {human_size(manager.clear_cache())}")
    return 0


def run_where(args: argparse.Namespace) -> int:
    manager = _manager(args)
    if args.name:
        entry = manager.catalog.entry(args.name)
        state = manager.status(entry)
        info = {"name": entry.name, "folder": str(state.folder), "status": state.state}
        if state.installed:
            info["open"] = str(manager.installed_path(entry.name))
    else:
        info = {"models": str(manager.root)}
    if args.json:
        print(json.dumps(info))
    else:
        print(info.get("open") or info.get("folder") or info["models"])
    return 0
