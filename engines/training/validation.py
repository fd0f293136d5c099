"""Checking a dataset before training: pairs, unpaired files, label ids out of range, size mismatches.

A size mismatch is a photo or instance map whose aspect ratio differs from its label map's (the two would be
misaligned after resizing); the same picture at another resolution (CelebA-HQ: 1024 photos, 512 labels) is
only counted in ``rescaled``.

:func:`validate_dataset` is cheap enough for the training dialog to call on every edit of the folder field
(``max_pixel_checks`` limits how many label maps are decoded); the trainer calls it on everything before the
first step, so a bad file is reported up front with its name instead of crashing an epoch later.
Torch-free.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from regionpaint import untrusted
from regionpaint.engines.training.layouts import LayoutError, LayoutScan, Sample, scan_layout
from regionpaint.engines.training.options import DONTCARE_ID

log = logging.getLogger(__name__)

INDEX_MODES = ("L", "P", "I", "I;16", "I;16L", "I;16B", "I;16N")
MAX_LISTED = 20


@dataclass(frozen=True)
class Issue:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class DatasetReport:
    """The outcome of :func:`validate_dataset`. ``ok`` means training can start."""

    root: Path | None
    layout: str | None
    samples: list[Sample] = field(default_factory=list)
    unpaired: list[Issue] = field(default_factory=list)
    bad_ids: list[Issue] = field(default_factory=list)
    size_mismatches: list[Issue] = field(default_factory=list)  # different aspect ratios: misaligned
    rescaled: list[Issue] = field(default_factory=list)  # same aspect, other size: fine (both get resized)
    unreadable: list[Issue] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    label_ids: set[int] = field(default_factory=set)  # raw ids seen in the checked label maps
    has_instances: bool = False
    checked: int = 0  # label maps whose pixels were read
    folders: dict[str, Path] = field(default_factory=dict)

    @property
    def pairs(self) -> int:
        return len(self.samples)

    @property
    def problems(self) -> list[Issue]:
        return self.bad_ids + self.size_mismatches + self.unreadable

    @property
    def ok(self) -> bool:
        return not self.errors and not self.problems and self.pairs > 0

    def suggested_label_nc(self) -> int | None:
        """``max id + 1`` over the checked label maps, 255 (don't care) left out."""
        ids = [i for i in self.label_ids if i != DONTCARE_ID]
        return max(ids) + 1 if ids else None

    @property
    def has_dontcare(self) -> bool:
        return DONTCARE_ID in self.label_ids

    def summary(self) -> str:
        """A few lines for a dialog or a log: counts first, then the first problems by file."""
        lines = [f"{self.layout or 'unknown'} layout: {self.pairs} pairs"]
        if self.unpaired:
            lines[0] += f", {len(self.unpaired)} unpaired file(s)"
        lines += self.errors
        for title, issues in (
            ("label ids out of range", self.bad_ids),
            ("size mismatches", self.size_mismatches),
            ("unreadable files", self.unreadable),
            ("unpaired files", self.unpaired),
        ):
            if issues:
                lines.append(f"{title} ({len(issues)}):")
                lines += [f"  {issue}" for issue in issues[:MAX_LISTED]]
                if len(issues) > MAX_LISTED:
                    lines.append(f"  ... and {len(issues) - MAX_LISTED} more")
        if self.rescaled:
            lines.append(
                f"{len(self.rescaled)} photo(s) differ in size from their label map (same aspect ratio; "
                "the preprocessing resizes both)"
            )
        lines += self.warnings
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "layout": self.layout,
            "pairs": self.pairs,
            "ok": self.ok,
            "unpaired": [str(i) for i in self.unpaired],
            "bad_ids": [str(i) for i in self.bad_ids],
            "size_mismatches": [str(i) for i in self.size_mismatches],
            "rescaled": len(self.rescaled),
            "unreadable": [str(i) for i in self.unreadable],
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "has_instances": self.has_instances,
            "suggested_label_nc": self.suggested_label_nc(),
            "has_dontcare": self.has_dontcare,
            "checked": self.checked,
        }


def allowed_raw_ids(label_nc: int, contain_dontcare_label: bool, layout: str, ade20k_raw_ids: bool = False) -> set[int]:
    """Raw label-file ids that map to a one-hot channel under these options.

    ADE20K files hold 0 = "other" and 1..150; the loader shifts them by -1 with 0 -> don't care.
    """
    if layout == "ade20k" and not ade20k_raw_ids:
        ids = set(range(label_nc + 1))
        if not contain_dontcare_label:
            ids.discard(0)
        return ids
    ids = set(range(label_nc))
    if contain_dontcare_label:
        ids.add(DONTCARE_ID)
    return ids


def validate_dataset(
    root: str | Path | None,
    layout: str = "auto",
    *,
    phase: str = "train",
    label_dir: str | Path | None = None,
    image_dir: str | Path | None = None,
    instance_dir: str | Path | None = None,
    label_nc: int | None = None,
    contain_dontcare_label: bool = False,
    use_instance: bool | None = None,
    ade20k_raw_ids: bool = False,
    max_pixel_checks: int | None = None,
    workers: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> DatasetReport:
    """Scan ``root`` in ``layout`` and check every pair (label ids only for the first ``max_pixel_checks``).

    ``label_nc`` None skips the id-range check (the report then suggests ``max id + 1``).
    ``use_instance`` True makes missing instance maps an error; None uses them where present.
    """
    report = DatasetReport(root=Path(root) if root else None, layout=None)
    try:
        scan = scan_layout(root, layout, phase, label_dir, image_dir, instance_dir)
    except LayoutError as exc:
        report.errors.append(str(exc))
        return report
    _take_scan(report, scan)
    if use_instance and not scan.has_instances:
        report.errors.append(
            f"no instance maps found for the {scan.layout} layout: pass --no_instance or add instance maps"
        )
    if not scan.samples:
        report.errors.append("no complete pairs (label map + photo) found")
        return report
    allowed = None
    if label_nc is not None:
        allowed = allowed_raw_ids(label_nc, contain_dontcare_label, scan.layout, ade20k_raw_ids)
    limit = len(scan.samples) if max_pixel_checks is None else min(max_pixel_checks, len(scan.samples))
    _check_samples(report, scan.samples, limit, allowed, workers, progress)
    if label_nc is None and report.label_ids:
        report.warnings.append(f"label_nc not given: the data suggests {report.suggested_label_nc()}")
    return report


def _take_scan(report: DatasetReport, scan: LayoutScan) -> None:
    report.layout = scan.layout
    report.samples = scan.samples
    report.unpaired = [Issue(path, reason) for path, reason in scan.unpaired]
    report.has_instances = scan.has_instances
    report.folders = scan.folders
    report.warnings += scan.notes


def _check_samples(
    report: DatasetReport,
    samples: list[Sample],
    pixel_limit: int,
    allowed: set[int] | None,
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    jobs = [(sample, index < pixel_limit) for index, sample in enumerate(samples)]
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # PIL decodes without the GIL
        for issues, ids, read_pixels in pool.map(lambda job: _check_sample(*job, allowed), jobs):
            for kind, issue in issues:
                getattr(report, kind).append(issue)
            report.label_ids |= ids
            report.checked += int(read_pixels)
            done += 1
            if progress is not None:
                progress(done, len(jobs))


def _size_of(path: Path) -> tuple[tuple[int, int], str]:
    with untrusted.open_image(path) as image:
        return image.size, image.mode


def _check_sample(
    sample: Sample, read_pixels: bool, allowed: set[int] | None
) -> tuple[list[tuple[str, Issue]], set[int], bool]:
    issues: list[tuple[str, Issue]] = []
    try:
        label_size, label_mode = _size_of(sample.label)
        image_size, _ = _size_of(sample.image)
        instance_size = _size_of(sample.instance)[0] if sample.instance else None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return [("unreadable", Issue(_failing(sample), f"cannot read ({exc})"))], set(), False
    if label_mode not in INDEX_MODES:
        message = f"label map in mode {label_mode}: expected a single-channel index PNG (class id per pixel)"
        return [("unreadable", Issue(sample.label, message))], set(), False
    if not _same_shape(image_size, label_size):
        issues.append(("size_mismatches", Issue(sample.image, f"photo {_wh(image_size)} vs label {_wh(label_size)}")))
    elif image_size != label_size:
        issues.append(("rescaled", Issue(sample.image, f"photo {_wh(image_size)}, label {_wh(label_size)}")))
    if instance_size is not None and not _same_shape(instance_size, label_size):
        message = f"instance map {_wh(instance_size)} vs label {_wh(label_size)}"
        issues.append(("size_mismatches", Issue(sample.instance, message)))
    ids: set[int] = set()
    if read_pixels:
        try:
            ids = set(np.unique(read_label(sample.label)).tolist())
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            return issues + [("unreadable", Issue(sample.label, f"cannot decode ({exc})"))], set(), False
        if allowed is not None and not ids <= allowed:
            bad = sorted(ids - allowed)
            listed = ", ".join(str(i) for i in bad[:10]) + (", ..." if len(bad) > 10 else "")
            issues.append(("bad_ids", Issue(sample.label, f"label ids {listed} out of range")))
    return issues, ids, read_pixels


def _failing(sample: Sample) -> Path:
    for path in (sample.label, sample.image, sample.instance):
        if path is None:
            continue
        try:
            _size_of(path)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            return path
    return sample.label


def _same_shape(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Equal aspect ratio (to a pixel): the preprocessing resizes both to the same size, e.g. CelebA-HQ's
    1024 photos with 512 label maps."""
    return abs(a[0] * b[1] - a[1] * b[0]) <= max(a[0], a[1], b[0], b[1])


def _wh(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def read_label(path: Path) -> np.ndarray:
    """(H, W) integer ids of an index PNG (palette PNGs give their indices)."""
    with untrusted.open_image(path) as image:
        image.load()
        array = np.asarray(image)
    if array.ndim != 2:
        raise ValueError(f"expected a single-channel label map, got shape {array.shape}")
    return array
