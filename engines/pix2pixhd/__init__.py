"""pix2pixHD (NVIDIA/pix2pixHD): GlobalGenerator / LocalEnhancer, instance edges and per-instance features.

Modules (only ``engine``, ``plugin``, ``architecture``, ``preprocess`` and ``clusters`` are torch-free):

* ``architecture``: reading every architectural option from state-dict shapes (+ opt.txt hints).
* ``networks``: the official module layout (``GlobalGenerator``, ``LocalEnhancer``, ``Encoder``).
* ``preprocess``: the official ``resize_or_crop`` pipelines (scale_width, resize_and_crop, crop, none).
* ``features``: per-instance averaging of encoder outputs and cluster sampling of feature maps.
* ``clusters``: the ``features_clustered_*.npy`` file (safe reading, writing, numpy k-means).
* ``loading``: checkpoint folder / .pth / .safetensors -> built networks.
* ``engine``: :class:`~regionpaint.engines.pix2pixhd.engine.Pix2PixHDEngine`.

"""
