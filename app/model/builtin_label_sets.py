"""Built-in plugin: the label sets that ship with regionpaint (CelebAMask-HQ, Cityscapes, ADE20K, COCO-Stuff)."""

from regionpaint.markers import hookimpl


@hookimpl
def register_label_sets(register):
    from regionpaint.app.model.labelsets import BUILTIN_LABEL_SETS

    for label_set in BUILTIN_LABEL_SETS:
        register(label_set)
