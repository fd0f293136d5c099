"""What each output of a batch is rendered with, written as the flags of ``regionpaint render``.

Every output gets a *settings* dict whose keys are ``render``'s flag names (``label``, ``instance``,
``style``, ``region_style``, ``crossover``, ``z``, ``sample``, ``seed``, ``no_noise``, ``instance_cluster``,
``class_cluster``, ``size``, ``label_set``, ``mean_styles``, ``option``: engine options as ``NAME=VALUE``),
so :func:`render_argv` turns a manifest record back into the ``render`` command that reproduces the image,
and the batch builds its requests with ``render``'s own :func:`regionpaint.app.commands.render.build_request`.

Sources of settings, first that applies per output:

1. ``--styles FILE.json|.csv``: one entry per output (matched by ``output``, or ``label``: a path below
   ``--labels``, a file name or the sample name), with ``style`` (``NAME=IMAGE[:LABEL]``, several allowed),
   ``region_style`` (``CLASS=SPEC``, or ``{"CLASS": "SPEC"}``), ``crossover``, ``z`` (a .npy/.pt file),
   ``seed``, ``sample``, ``no_noise``, ``instance_cluster``/``class_cluster`` (``K=N`` or ``{"K": N}``),
   ``options`` (engine options: ``{"NAME": VALUE}``, or ``NAME=VALUE`` items; checked against the engine's
   schema, over the batch's ``--option`` flags and the manifest's defaults, name by name). Relative paths
   are relative to the manifest's folder. In CSV, list cells separate items with ``;``. A JSON file
   is a list of entries or ``{"defaults": {...}, "images": [...]}``.
2. ``--style-mode``: ``random`` (a seed per output derived from ``--seed`` and the output name: SEAN draws
   ``@random`` codes, SPADE-VAE draws z, pix2pixHD picks feature clusters), ``mean`` (SEAN ``@mean``;
   SPADE-VAE z = 0, the prior's mean) or ``from-photos`` (each map's own photo in ``--photos DIR``).
3. Neither: ``render``'s defaults with the batch's ``--seed``.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from regionpaint import untrusted
from regionpaint.app.batch.discovery import BatchItem

STYLE_MODES = ("random", "mean", "from-photos")
LIST_FIELDS = ("style", "region_style", "crossover", "instance_cluster", "class_cluster")
PATH_FIELDS = ("z",)
SCALAR_FIELDS = ("seed", "sample", "no_noise", "size", "z")
OPTIONS_FIELD = "options"  # an entry's engine options: {name: value}, merged name by name over the defaults'
ENTRY_FIELDS = (*LIST_FIELDS, *SCALAR_FIELDS, OPTIONS_FIELD)
RENDER_FIELDS = (
    "label",
    "instance",
    *LIST_FIELDS,
    "z",
    "sample",
    "seed",
    "no_noise",
    "size",
    "label_set",
    "mean_styles",
    "fast",  # render --fast replays a fast-mode batch output exactly
    "option",  # engine options, ["NAME=VALUE", ...] sorted by name: render --option NAME=VALUE
)


class StylesError(ValueError):
    """A malformed styles manifest or style mode; the message names the file and the entry."""


def derived_seed(base: int, key: str) -> int:
    """A seed for one output, stable across runs, machines and ranks (not Python's salted hash)."""
    digest = hashlib.blake2b(f"{base}:{key}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


def _as_list(value: Any, field: str, where: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    if isinstance(value, Mapping):
        return [f"{k}={v}" for k, v in value.items()]
    if isinstance(value, Sequence):
        return [str(v) for v in value]
    raise StylesError(f"{where}: {field!r} must be a string, a list or a mapping, got {value!r}")


def _as_bool(value: Any, field: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y"):
        return True
    if text in ("", "0", "false", "no", "n"):
        return False
    raise StylesError(f"{where}: {field!r} must be true or false, got {value!r}")


def _resolve_path(text: str, base: Path) -> str:
    path = Path(text)
    return str(path if path.is_absolute() else (base / path))


def _resolve_style(spec: str, base: Path) -> str:
    from regionpaint.app.render_spec import parse_style_arg

    name, image, label = parse_style_arg(spec)
    resolved = f"{name}={_resolve_path(image, base)}"
    return resolved + (f":{_resolve_path(label, base)}" if label else "")


def normalise_entry(raw: Mapping[str, Any], base: Path, where: str, engine_class: type | None = None) -> dict[str, Any]:
    """A manifest entry as render flags (lists, booleans, ints; paths made absolute). Its ``options`` become
    ``{name: text}``, checked against ``engine_class``'s schema when given (the error names the option)."""
    unknown = sorted(set(raw) - {*ENTRY_FIELDS, "output", "label"})
    if unknown:
        raise StylesError(f"{where}: unknown field {unknown[0]!r} (fields: output, label, {', '.join(ENTRY_FIELDS)})")
    entry: dict[str, Any] = {}
    for field in LIST_FIELDS:
        if field in raw:
            items = _as_list(raw[field], field, where)
            entry[field] = [_resolve_style(s, base) for s in items] if field == "style" else items
    if raw.get("seed") not in (None, ""):
        try:
            entry["seed"] = int(raw["seed"])
        except (TypeError, ValueError):
            raise StylesError(f"{where}: seed {raw['seed']!r} is not an integer") from None
    for field in ("sample", "no_noise"):
        if field in raw:
            entry[field] = _as_bool(raw[field], field, where)
    if raw.get("size") not in (None, ""):
        entry["size"] = str(raw["size"])
    if raw.get("z") not in (None, ""):
        entry["z"] = _resolve_path(str(raw["z"]), base)
    if raw.get(OPTIONS_FIELD) not in (None, ""):
        entry[OPTIONS_FIELD] = _entry_options(raw[OPTIONS_FIELD], where, engine_class)
    return entry


def _entry_options(value: Any, where: str, engine_class: type | None) -> dict[str, Any]:
    """An entry's ``options`` (``{"NAME": VALUE}``, or ``NAME=VALUE`` items: a CSV cell ``a=1;b=x``) as
    ``{name: text}`` in ``render --option``'s spelling, checked against the engine's schema."""
    from regionpaint.engines.schema import OptionError, checked_engine_options, option_texts, parse_key_values

    try:
        if isinstance(value, Mapping):
            given = {str(name).replace("-", "_"): v for name, v in value.items()}
        else:
            given = parse_key_values(_as_list(value, OPTIONS_FIELD, where))
        if engine_class is None:
            return {name: str(v) for name, v in given.items()}
        return option_texts(engine_class.options, checked_engine_options(engine_class, given))
    except OptionError as exc:
        raise StylesError(f"{where}: {OPTIONS_FIELD}: {exc}") from None


def read_styles_manifest(
    path: str | Path, engine_class: type | None = None
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """(defaults, [(match key, entry)]) from a ``.json`` or ``.csv`` styles manifest; entries' engine options
    are checked against ``engine_class``'s schema when given."""
    path = Path(path)
    if not path.exists():  # anything else there (a FIFO, a folder) is named by open_regular below
        raise StylesError(f"{path}: styles manifest not found")
    base = path.parent
    try:
        with untrusted.open_regular(path) as handle:  # a FIFO is refused, not waited on
            data = handle.read(untrusted.MAX_JSON_BYTES + 1)
        text = data.decode("utf-8")
    except untrusted.UntrustedFileError as exc:
        raise StylesError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StylesError(f"{path}: cannot read the styles manifest ({exc})") from None
    if len(data) > untrusted.MAX_JSON_BYTES:
        raise StylesError(f"{path}: a styles manifest of more than {untrusted.MAX_JSON_BYTES >> 20} MiB; not read")
    if path.suffix.lower() == ".csv":
        rows: list[Mapping[str, Any]] = [
            {k.strip(): v for k, v in row.items() if k and v not in (None, "")}
            for row in csv.DictReader(text.splitlines())
        ]
        defaults_raw: Mapping[str, Any] = {}
    elif path.suffix.lower() == ".json":
        try:
            data = untrusted.loads_json(text, str(path))
        except untrusted.UntrustedFileError as exc:
            raise StylesError(str(exc)) from None
        if isinstance(data, Mapping):
            defaults_raw, rows = data.get("defaults") or {}, data.get("images") or []
        else:
            defaults_raw, rows = {}, data
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            raise StylesError(f"{path}: expected a list of entries (or {{'defaults': ..., 'images': [...]}})")
    else:
        raise StylesError(f"{path}: a styles manifest is .json or .csv")
    if not isinstance(defaults_raw, Mapping):
        raise StylesError(f"{path}: 'defaults' must be an object of fields")
    defaults = normalise_entry(defaults_raw, base, f"{path}: defaults", engine_class)
    entries = []
    for number, row in enumerate(rows, start=1):
        where = f"{path}: entry {number}"
        target = row.get("output") or row.get("label")
        if not target:
            raise StylesError(f"{where}: needs 'output' or 'label' naming the map it styles")
        entries.append((str(target).replace("\\", "/"), normalise_entry(row, base, where, engine_class)))
    return defaults, entries


class StylePlanner:
    """Settings (render flags) for every item of a batch."""

    def __init__(
        self,
        labels_root: Path,
        capabilities: frozenset[str],
        base: Mapping[str, Any],
        mode: str | None = None,
        photos: Mapping[str, Path] | None = None,
        manifest: tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]] | None = None,
    ) -> None:
        from regionpaint.engines.base import LATENT_Z, MEAN_STYLE, REGION_STYLES

        if mode is not None and mode not in STYLE_MODES:
            raise StylesError(f"--style-mode {mode!r}: choose from {', '.join(STYLE_MODES)}")
        self.labels_root, self.capabilities, self.mode = labels_root, capabilities, mode
        self.base, self.photos = dict(base), photos or {}
        self.defaults, self.entries = manifest or ({}, [])
        self.used_entries: set[int] = set()
        self._mean_style = MEAN_STYLE in capabilities
        self._latent = LATENT_Z in capabilities
        self._region = REGION_STYLES in capabilities
        if mode in ("random", "mean") and self._mean_style and not base.get("mean_styles"):
            raise StylesError(f"--style-mode {mode}: this engine draws mean/random styles from --mean-styles DIR")
        if mode == "mean" and not (self._mean_style or self._latent):
            raise StylesError("--style-mode mean: this checkpoint has no mean style (SEAN codes or a SPADE-VAE z)")
        if mode == "from-photos" and not self.photos:
            raise StylesError("--style-mode from-photos needs --photos DIR with the maps' photos")

    def _entry_for(self, item: BatchItem) -> dict[str, Any] | None:
        rel_label = (
            item.label.relative_to(self.labels_root).as_posix() if item.label.is_relative_to(self.labels_root) else ""
        )
        names = {item.key, rel_label, item.label.name, item.label.stem, item.pair}
        for index, (target, entry) in enumerate(self.entries):
            if target in names:
                self.used_entries.add(index)
                return entry
        return None

    def unused_entries(self) -> list[str]:
        """Manifest entries that matched no label map (reported in the summary)."""
        return [target for index, (target, _) in enumerate(self.entries) if index not in self.used_entries]

    def settings_for(self, item: BatchItem, mean_z: str | None = None) -> dict[str, Any]:
        """Render flags for ``item``; raises :class:`StylesError` (e.g. its photo is missing)."""
        settings: dict[str, Any] = {field: [] for field in LIST_FIELDS}
        settings.update(label=str(item.label), instance=str(item.instance) if item.instance else None)
        settings.update({k: v for k, v in self.base.items() if v not in (None, [], False) or k == "seed"})
        entry = self._entry_for(item)
        if entry is None:
            self._apply_mode(settings, item, mean_z)
        options = dict(settings.pop(OPTIONS_FIELD, None) or {})  # the batch's --option flags
        for source in (self.defaults, entry or {}):
            settings.update({k: v for k, v in source.items() if k != OPTIONS_FIELD})
            options.update(source.get(OPTIONS_FIELD) or {})  # name by name: a row changes only what it names
        settings["option"] = [f"{name}={text}" for name, text in sorted(options.items())]
        # Seed 0 is a seed (`0 == False` would drop it): without it the replay renders seed None, which
        # engines with noise draw at random (SEAN, the transfer example), and the record would not replay.
        return {
            k: settings.get(k)
            for k in RENDER_FIELDS
            if settings.get(k) not in (None, [], False) or (k == "seed" and settings.get(k) is not None)
        }

    def _apply_mode(self, settings: dict[str, Any], item: BatchItem, mean_z: str | None) -> None:
        if self.mode == "random":
            settings["seed"] = derived_seed(int(self.base.get("seed") or 0), item.key)
            if self._mean_style:
                settings["region_style"] = ["all=@random"]
            # SPADE-VAE without a style photo draws z from the seed; pix2pixHD picks clusters with it.
        elif self.mode == "mean":
            if self._mean_style:
                settings["region_style"] = ["all=@mean"]
            elif self._latent and mean_z:
                settings["z"] = mean_z
        elif self.mode == "from-photos":
            photo = self.photos.get(item.pair)
            if photo is None:
                raise StylesError(f"{item.label}: no photo named like {item.pair!r} in the --photos folder")
            own_label = f":{item.label}" if self._region else ""
            settings["style"] = [f"photo={photo}{own_label}"]


def render_argv(record: Mapping[str, Any]) -> list[str]:
    """The ``regionpaint render`` arguments that re-render a manifest record's output exactly."""
    argv = ["render", "--checkpoint", str(record["checkpoint"])] if record.get("checkpoint") else ["render"]
    argv += ["--engine", str(record["engine"])]  # an engine without weights: no --checkpoint
    settings = record["settings"]
    for field in RENDER_FIELDS:
        value = settings.get(field)
        flag = "--" + field.replace("_", "-")
        if value is None or value is False or value == []:  # not `in (None, [], False)`: --seed 0 is a flag
            continue
        if value is True:
            argv.append(flag)
        elif isinstance(value, list):
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    return [*argv, "--out", str(record["path"])]
