"""The render mini-languages: style sources, region styles, crossover, sizes."""

import pytest

from regionpaint.app.model.labelsets import BUILTIN_LABEL_SETS, CELEBAMASK_HQ
from regionpaint.app.render_spec import (
    SpecError,
    label_set_for_classes,
    parse_crossover,
    parse_mix,
    parse_region_styles,
    parse_size,
    parse_style_arg,
)

BLOCKS = ("head_0", "G_middle_0", "G_middle_1", "up_0", "up_1", "up_2", "up_3")


def test_style_arg_with_and_without_label():
    assert parse_style_arg("A=a.jpg") == ("A", "a.jpg", None)
    assert parse_style_arg("B=dir/b.jpg:dir/b.png") == ("B", "dir/b.jpg", "dir/b.png")
    assert parse_style_arg("C=odd:name.png") == ("C", "odd:name.png", None)
    with pytest.raises(SpecError, match="NAME=IMAGE"):
        parse_style_arg("a.jpg")


def test_mix_weights_must_sum_to_one_and_name_known_sources():
    assert parse_mix("A", ["A", "B"], "ctx") == (("A", 1.0),)
    assert parse_mix("A:0.25,B:0.75", ["A", "B"], "ctx") == (("A", 0.25), ("B", 0.75))
    with pytest.raises(SpecError, match="sum to 0.9, not 1"):
        parse_mix("A:0.4,B:0.5", ["A", "B"], "ctx")
    with pytest.raises(SpecError, match="unknown style source.*C"):
        parse_mix("C", ["A", "B"], "ctx")
    with pytest.raises(SpecError, match="weight for every source"):
        parse_mix("A,B", ["A", "B"], "ctx")


def test_region_styles_later_and_more_specific_entries_win():
    default, per_class = parse_region_styles(
        ["all=A", "hair=B", "13=A:0.5,B:0.5", "skin=B", "all=B"], CELEBAMASK_HQ, ["A", "B"]
    )
    assert default == (("B", 1.0),)
    assert per_class == {13: (("A", 0.5), ("B", 0.5)), 1: (("B", 1.0),)}
    with pytest.raises(SpecError, match="class 'nosuch'"):
        parse_region_styles(["nosuch=A"], CELEBAMASK_HQ, ["A"])


def test_crossover_by_name_and_index():
    crossover = parse_crossover(["head_0=A,1=B", "up_3=B"], BLOCKS, ["A", "B"])
    assert crossover == {"head_0": "A", "G_middle_0": "B", "up_3": "B"}
    with pytest.raises(SpecError, match="unknown block"):
        parse_crossover(["up_9=A"], BLOCKS, ["A"])
    with pytest.raises(SpecError, match="out of range"):
        parse_crossover(["7=A"], BLOCKS, ["A"])


def test_size_and_label_set_guess():
    assert parse_size("512x256") == (512, 256)
    with pytest.raises(SpecError):
        parse_size("512")
    assert label_set_for_classes(19, BUILTIN_LABEL_SETS).id == "celebamask-hq"
    assert label_set_for_classes(35, BUILTIN_LABEL_SETS).id == "cityscapes"
    assert label_set_for_classes(7, BUILTIN_LABEL_SETS) is None
