"""Training SPADE, SEAN and pix2pixHD with the official objectives, as a background-friendly job.

Modules (torch-free ones marked *):

* ``options``*, ``presets``*, ``flags``*, ``official_opt``*: every option under its official name (engine
  defaults < dataset presets < user flags), the command-line flags, and the official ``opt.txt`` contents.
* ``layouts``*, ``validation``*: finding (label, image, instance) triples in the official dataset layouts,
  and checking them before a run (unpaired files, label ids out of range, size mismatches).
* ``transforms``*, ``datasets``: the official training-time preprocessing (random crop, flip) and the
  torch ``Dataset`` that yields one-hot-ready tensors.
* ``discriminators``, ``losses``, ``vgg``, ``weight_init``: the official D, GAN / feature-matching / VGG /
  KL losses, the VGG19 feature extractor, and the official initialisations.
* ``model_base``, ``spade_model``, ``sean_model``, ``sean_generator``, ``pix2pixhd_model``: one training model
  per engine (networks with the official state-dict keys, the generator and discriminator objectives).
* ``trainer``, ``stopping``: the loop (epochs/steps, learning-rate schedule, checkpoints, samples) and the
  SIGINT/SIGTERM handling that stops it with a checkpoint.
* ``checkpoints``, ``events``, ``samples``: the run folder in the official layout, the JSON-lines event
  stream, and the sample grids.
* ``distributed``: DDP under ``torchrun`` (rank-0 checkpoints, sharded data, SyncBatchNorm, also on CPU).
* ``pix2pixhd_features``: encoding every training image and clustering the features
  (``features_clustered_010.npy``) after a pix2pixHD run with ``--instance_feat``.
* ``synthetic``: tiny generated datasets for tests and benchmarks.
"""
