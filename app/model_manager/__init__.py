"""The model manager: from a fresh install to the official checkpoints in one step.

- :mod:`.catalog` — the catalog of known checkpoints (``catalog.json``, data; plugins add entries through the
  ``register_models`` hook, tests through ``REGIONPAINT_MODEL_CATALOG``), parsed and checked against
  ``catalog.schema.json``'s rules;
- :mod:`.layouts` — the official key/shape layouts (``layouts/*.json``) and the check of a file against one;
- :mod:`.download` — resumable downloads from plain URLs, Hugging Face Hub mirrors (``huggingface_hub``)
  and Google Drive (``gdown``), with mirror fallback;
- :mod:`.archive` — bounded, path-safe extraction of the members an entry needs;
- :mod:`.store` — what is installed in the data folder's ``models/`` (a manifest per model, hashes recorded);
- :mod:`.manager` — the operations the CLI (``regionpaint models``) and the editor's Models dialog share.

Qt-free; torch is imported only where a weights file is read.
"""
