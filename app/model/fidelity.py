"""Label fidelity: how well a render keeps to its label map, as the SPADE/pix2pixHD papers measure it.

A segmenter labels the rendered image; its labels are compared with the map the image was rendered
from. The scores are the semantic-segmentation ones (as in fyu/drn ``segment.py``): a confusion matrix
accumulated over all images, per-class IoU = TP / (TP + FP + FN), mIoU = mean IoU over classes that
occur in the truth or the prediction, pixel accuracy = correct / counted pixels. Pixels whose true
class is not counted (Cityscapes' unevaluated ids, don't care) are ignored; a predicted class that is
not counted is simply wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FidelityScore:
    """Scores from a confusion matrix over ``class_ids``.

    ``confusion[i, j]``: pixels of true class ``class_ids[i]`` predicted as ``class_ids[j]``; the last
    column counts predictions outside ``class_ids``.
    """

    class_ids: tuple[int, ...]
    confusion: np.ndarray

    @property
    def per_class_iou(self) -> dict[int, float]:
        """{class id: IoU in [0, 1]} for every class present in the truth or the prediction."""
        n = len(self.class_ids)
        tp = np.diag(self.confusion[:, :n]).astype(np.float64)
        union = self.confusion[:, :n].sum(0) + self.confusion.sum(1) - tp
        return {cid: float(tp[i] / union[i]) for i, cid in enumerate(self.class_ids) if union[i] > 0}

    @property
    def miou(self) -> float:
        """Mean IoU over the classes present (NaN when no pixel was counted)."""
        ious = list(self.per_class_iou.values())
        return float(np.mean(ious)) if ious else float("nan")

    @property
    def pixel_accuracy(self) -> float:
        total = self.confusion.sum()
        n = len(self.class_ids)
        return float(np.trace(self.confusion[:, :n]) / total) if total else float("nan")

    @property
    def pixels(self) -> int:
        return int(self.confusion.sum())

    def __add__(self, other: FidelityScore) -> FidelityScore:
        if other.class_ids != self.class_ids:
            raise ValueError("cannot add fidelity scores over different classes")
        return FidelityScore(self.class_ids, self.confusion + other.confusion)


def confusion(predicted: np.ndarray, truth: np.ndarray, class_ids: Sequence[int]) -> FidelityScore:
    """Score one (H, W) predicted label map against the (H, W) true one, over ``class_ids``."""
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    if predicted.shape != truth.shape:
        raise ValueError(f"predicted map {predicted.shape} and label map {truth.shape} differ in size")
    class_ids = tuple(int(c) for c in class_ids)
    n = len(class_ids)
    size = max(int(truth.max(initial=0)), int(predicted.max(initial=0)), max(class_ids, default=0)) + 1
    index = np.full(size, -1, dtype=np.int64)
    index[list(class_ids)] = np.arange(n)
    true_index = index[truth.ravel().astype(np.int64)]
    pred_index = index[predicted.ravel().astype(np.int64)]
    counted = true_index >= 0
    pred_index = np.where(pred_index >= 0, pred_index, n)  # the "other" column
    flat = true_index[counted] * (n + 1) + pred_index[counted]
    matrix = np.bincount(flat, minlength=n * (n + 1)).reshape(n, n + 1)
    return FidelityScore(class_ids, matrix)


def region_iou(predicted: np.ndarray, truth: np.ndarray) -> dict[int, float]:
    """{class id: IoU} for every class of the (H, W) label map ``truth``: the editor's per-region readout."""
    present = [int(c) for c in np.flatnonzero(np.bincount(np.asarray(truth).ravel()))]
    score = confusion(predicted, truth, present)
    return {cid: score.per_class_iou.get(cid, 0.0) for cid in present}
