"""Hook specifications: what a regionpaint plugin can provide.

Every hook receives a callable or object built by the application, so the application (not the
plugin) owns naming, clash detection and error reporting.
"""

from regionpaint.markers import hookspec


@hookspec
def register_engines(register):
    """Register rendering engines by calling ``register(EngineClass)`` once per engine class.

    Register classes, not instances: listing engines reads class attributes only (``id``,
    ``display_name``, ``capabilities``, ``label_sets``), so it never imports torch. An engine id
    already registered by another plugin is reported as an error naming both plugins.
    """


@hookspec
def register_trainers(register):
    """Register trainers by calling ``register(TrainerClass)`` once per ``regionpaint.EngineTrainer`` subclass.

    A trainer names the engine id it trains (``engine``), declares its training-only options
    (``options``: ``regionpaint.Option`` objects, which become ``regionpaint train`` flags and Train dialog
    fields), its defaults and dataset presets, and builds its training model in ``build_model`` (import
    torch there). An engine id already given a trainer by another plugin is an error naming both plugins.
    """


@hookspec
def register_label_sets(register):
    """Register label sets by calling ``register(label_set)`` with ``regionpaint.LabelSet`` objects."""


@hookspec
def register_commands(cli):
    """Add sub-commands to the ``regionpaint`` command line.

    ``cli.add_command(name, help, configure, run)``: ``configure(parser)`` adds arguments to an
    ``argparse.ArgumentParser``; ``run(args) -> int`` executes the command and returns the exit code.
    """


@hookspec
def register_segmenters(register):
    """Register segmenters (photo → label map) by calling ``register(SegmenterClass)`` once per class.

    A segmenter subclasses ``regionpaint.Segmenter`` (``engines/segmenters/base.py``) and declares ``id``,
    ``display_name``, ``label_set`` (the id of the label set it outputs) and ``needs_weights``. Register
    classes, not instances: listing reads class attributes only, so import torch lazily. A segmenter id
    already registered by another plugin is reported as an error naming both plugins.
    """


@hookspec
def register_models(register):
    """Add entries to the model catalog (``regionpaint models``, the editor's Models dialog).

    Call ``register(document)`` with a catalog document: the same JSON object as the built-in
    ``app/model_manager/catalog.json`` (``schema``, ``entries``, and optionally ``licences``, ``archives`` and inline
    ``layouts``), as a dict. Data, not code: each entry names its files, their sources (URLs, Hugging Face Hub
    mirrors, archive members), a licence and the key/shape layout its weights must match. The documents are
    checked when the catalog loads; a malformed one is logged and skipped, and an entry name already in the
    catalog is refused.
    """
