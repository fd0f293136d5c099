"""Built-in plugin: the BiSeNet face and DRN-D-105 street segmenters, registered through the public hook."""

from regionpaint.markers import hookimpl


@hookimpl
def register_segmenters(register):
    # The segmenter modules import torch only inside load()/segment(), so listing stays light.
    from regionpaint.engines.segmenters.bisenet.segmenter import BiSeNetFaceSegmenter
    from regionpaint.engines.segmenters.drn.segmenter import DRNStreetSegmenter

    register(BiSeNetFaceSegmenter)
    register(DRNStreetSegmenter)
