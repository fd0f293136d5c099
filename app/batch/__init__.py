"""``regionpaint batch``: render folders of label maps (Qt-free).

* :mod:`regionpaint.app.batch.discovery`: which label maps, their instance maps and photos, and each output's name
  (per dataset layout).
* :mod:`regionpaint.app.batch.styles`: what each output is rendered with (a styles manifest or a style mode), as the
  flags of ``regionpaint render``.
* :mod:`regionpaint.app.batch.manifest`: ``manifest.jsonl`` records, written per output; a rerun skips outputs whose
  record matches.
* :mod:`regionpaint.app.batch.pipeline`: loader threads, batched generation, a writer thread, atomic writes.
* :mod:`regionpaint.app.batch.torchrun_sharding`: torchrun ranks, each file once, one global progress count.
* :mod:`regionpaint.app.batch.engine`: the engine and checkpoint a batch renders with.
"""
