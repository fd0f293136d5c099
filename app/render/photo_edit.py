"""A photo edit: a photo, its own segmentation (the baseline) and how renders go back onto it.

Given a document or command-line inputs and a render result, :meth:`PhotoEdit.composite` returns the
photo with only the edited pixels replaced (see :mod:`regionpaint.app.model.edit_mask` and
:mod:`regionpaint.app.render.composite`). Qt-free and torch-free; the CLI and the editor share it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from regionpaint.app.model.document import CompositeSettings, scale_id_map
from regionpaint.app.model.edit_mask import (
    BASELINE_STYLE,
    DEFAULT_REACH,
    PHOTO_SOURCE,
    EditInputs,
    EditMask,
    compute_edit_mask,
    document_edit_inputs,
    grow_mask,
    reach_in_pixels,
)
from regionpaint.app.render.composite import Composite, composite

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PhotoEdit:
    """photo (H, W, 3) uint8; baseline (H, W) class ids; baseline_instance (H, W) int32 or None."""

    photo: np.ndarray
    baseline: np.ndarray
    baseline_instance: np.ndarray | None = None
    settings: CompositeSettings = CompositeSettings()
    reach: float = DEFAULT_REACH

    @property
    def size(self) -> tuple[int, int]:
        """(W, H) of the photo: the composite's size."""
        return self.photo.shape[1], self.photo.shape[0]

    def fit(self, ids: np.ndarray | None) -> np.ndarray | None:
        """A label or instance map at the photo's size (nearest neighbour), so it compares with the baseline."""
        if ids is None or (ids.shape[1], ids.shape[0]) == self.size:
            return ids
        return scale_id_map(ids, self.size)

    def edit_inputs(self, request: Any) -> EditInputs:
        """What a (fitted) :class:`regionpaint.engines.base.RenderRequest` changes against the baseline."""
        default = tuple(request.default_style or ())
        if request.z is not None or request.sample or not request.styles:
            global_source = None  # z given, drawn from the seed, or no style photo at all
        else:
            global_source = default[0][0] if default else next(iter(request.styles))
        return EditInputs(
            label=self.fit(request.label),
            baseline=self.baseline,
            instance=self.fit(request.instance),
            baseline_instance=self.baseline_instance,
            region_styles=dict(request.region_styles),
            default_style=default or None,
            crossover=dict(request.crossover),
            instance_clusters=dict(request.instance_clusters),
            class_clusters=dict(request.class_clusters),
            feature_source=request.feature_source,
            global_style_source=global_source,
        )

    def edit_mask(self, request: Any, capabilities: Collection[str]) -> EditMask:
        return compute_edit_mask(self.edit_inputs(request), capabilities)

    def grown_mask(self, mask: EditMask, render_size: tuple[int, int] | None) -> np.ndarray:
        """The edit mask grown by the engine's reach (``render_size`` (W, H): the network's output)."""
        return grow_mask(mask.mask, reach_in_pixels(self.size, render_size, self.reach))

    def composite(
        self, request: Any, render: np.ndarray, capabilities: Collection[str], settings: CompositeSettings | None = None
    ) -> Composite:
        """The render (network size) put onto the photo where ``request`` edits it."""
        settings = settings or self.settings
        grown = self.grown_mask(self.edit_mask(request, capabilities), (render.shape[1], render.shape[0]))
        return composite(self.photo, render, grown, settings)


def photo_style_source(edit: PhotoEdit) -> Any:
    """The photo as the style source :data:`PHOTO_SOURCE` (its own segmentation as its label map)."""
    from regionpaint.engines.base import StyleSource

    return StyleSource(PHOTO_SOURCE, edit.photo, edit.baseline, edit.baseline_instance)


def photo_base_request(edit: PhotoEdit, label: np.ndarray, instance: np.ndarray | None) -> Any:
    """A request that reconstructs the photo wherever ``label`` does not differ: the photo styles every
    region and, for pix2pixHD, gives the instance features; other flags are layered on top."""
    from regionpaint.engines.base import RenderRequest

    return RenderRequest(
        label=edit.fit(label),
        instance=edit.fit(instance),
        styles={PHOTO_SOURCE: photo_style_source(edit)},
        default_style=BASELINE_STYLE,
        feature_source=PHOTO_SOURCE,
    )


def photo_edit_from_document(doc: Any, settings: CompositeSettings | None = None) -> PhotoEdit | None:
    """The photo edit of a document with a photo and a baseline, else None (``settings`` override its own)."""
    if not getattr(doc, "is_photo_edit", False):
        return None
    return PhotoEdit(doc.photo, doc.baseline, doc.baseline_instance, settings or doc.composite)


def fit_request_to_photo(edit: PhotoEdit, request: Any) -> Any:
    """A request with its label and instance maps at the photo's size (``render --project --label``)."""
    return dataclasses.replace(request, label=edit.fit(request.label), instance=edit.fit(request.instance))


def document_edit_mask(
    doc: Any, capabilities: Collection[str], render_size: tuple[int, int] | None
) -> np.ndarray | None:
    """The grown edit mask of a photo document as it stands (H, W) bool, or None for other documents.

    ``render_size`` (W, H) is the network's output size (the reach scales with it); None: unknown.
    """
    edit = photo_edit_from_document(doc)
    inputs = document_edit_inputs(doc)
    if edit is None or inputs is None:
        return None
    return edit.grown_mask(compute_edit_mask(inputs, capabilities), render_size)


def recomposite_document(doc: Any, raw: np.ndarray, capabilities: Collection[str]) -> np.ndarray:
    """The document's composite of an existing network output ``raw`` under its current settings (no render).

    Used when only the blend changes (mode, band, harmonisation): the network is not run again.
    Returns ``raw`` itself for ``off`` or a document that is not a photo edit.
    """
    edit = photo_edit_from_document(doc)
    if edit is None or edit.settings.mode == "off":
        return raw
    mask = document_edit_mask(doc, capabilities, (raw.shape[1], raw.shape[0]))
    return composite(edit.photo, raw, mask, edit.settings).image
