"""What every trainer shares: the loop, losses, discriminators, datasets and layouts, events (the engines'
training models and options live in their slices, ``engines/<id>/training.py`` and ``train_model.py``).

Modules (torch-free ones marked *):

* ``contract``*: :class:`EngineTrainer`, what an engine's slice declares (registered by ``register_trainers``).
* ``schema``*, ``options``*, ``flags``*, ``official_opt``*: the shared option schema, every option of a run
  (shared defaults < trainer defaults < dataset presets < user flags), the command-line flags generated
  from the schemas, and the shared part of the official ``opt.txt``.
* ``layouts``*, ``validation``*: finding (label, image, instance) triples in the official dataset layouts,
  and checking them before a run (unpaired files, label ids out of range, size mismatches).
* ``transforms``*, ``datasets``: the official training-time preprocessing (random crop, flip) and the
  torch ``Dataset`` that yields one-hot-ready tensors.
* ``discriminators``, ``losses``, ``vgg``, ``weight_init``: the official D, GAN / feature-matching / VGG /
  KL losses, the VGG19 feature extractor, and the official initialisations.
* ``model_base``: what a training model provides to the loop (networks under official roles, objectives).
* ``trainer``, ``stopping``: the loop (epochs/steps, learning-rate schedule, checkpoints, samples) and the
  SIGINT/SIGTERM handling that stops it with a checkpoint.
* ``checkpoints``, ``events``, ``samples``: the run folder in the official layout, the JSON-lines event
  stream, and the sample grids.
* ``distributed``: DDP under ``torchrun`` (rank-0 checkpoints, sharded data, SyncBatchNorm, also on CPU).
* ``synthetic``: tiny generated datasets for tests and benchmarks.
"""
