"""Training options: official defaults, dataset presets, user flags, official opt.txt contents."""

from __future__ import annotations

import argparse

import pytest

from regionpaint.engines.loading.options import parse_opt_text, read_opt_txt
from regionpaint.engines.training.flags import add_arguments, command_line, given_options
from regionpaint.engines.training.official_opt import official_opt
from regionpaint.engines.training.options import OptionError, architecture_differences, defaults_for, resolve_options
from tests.conftest import require_shared


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine")
    parser.add_argument("--data")
    parser.add_argument("--out")
    add_arguments(parser)
    return parser.parse_args(argv)


def test_engine_defaults_are_the_official_ones():
    spade, sean, hd = defaults_for("spade", "custom"), defaults_for("sean", "custom"), defaults_for("pix2pixhd", "flat")
    assert (spade.n_layers_D, spade.niter, spade.niter_decay, spade.gan_mode) == (4, 50, 0, "hinge")
    assert spade.betas == (0.0, 0.9) and spade.norm_G == "spectralspadesyncbatch3x3"
    assert (sean.n_layers_D, sean.niter_decay) == (3, 50)
    assert (hd.n_layers_D, hd.niter, hd.niter_decay, hd.gan_mode, hd.betas) == (3, 100, 100, "ls", (0.5, 0.999))
    no_ttur = resolve_options("spade", "d", "o", {"no_TTUR": True}, "custom")
    assert no_ttur.betas == (0.5, 0.999)


def test_presets_then_user_flags():
    city = resolve_options("spade", "d", "o", {}, "cityscapes")
    assert (city.label_nc, city.preprocess_mode, city.aspect_ratio, city.num_upsampling_layers) == (
        35,
        "fixed",
        2.0,
        "more",
    )
    ade = resolve_options("spade", "d", "o", {}, "ade20k")
    assert (ade.label_nc, ade.contain_dontcare_label, ade.no_instance, ade.load_size) == (150, True, True, 286)
    coco = resolve_options("spade", "d", "o", {}, "coco-stuff")
    assert (coco.label_nc, coco.contain_dontcare_label, coco.no_instance) == (182, True, False)
    face = resolve_options("sean", "d", "o", {}, "celebamask-hq")
    assert (face.label_nc, face.no_instance, face.crop_size) == (19, True, 256)
    mine = resolve_options("spade", "d", "o", {"label_nc": 20, "crop_size": 128}, "cityscapes")
    assert (mine.label_nc, mine.crop_size) == (20, 128)
    small = resolve_options("spade", "d", "o", {"crop_size": 64}, "custom")
    assert small.load_size == 72  # the preset's 286/256 ratio kept


def test_epochs_split_like_the_engine_defaults():
    assert (lambda o: (o.niter, o.niter_decay))(resolve_options("pix2pixhd", "d", "o", {"epochs": 10}, "flat")) == (
        5,
        5,
    )
    spade = resolve_options("spade", "d", "o", {"epochs": 10}, "custom")
    assert (spade.niter, spade.niter_decay) == (10, 0)
    given = resolve_options("spade", "d", "o", {"epochs": 10, "niter_decay": 4}, "custom")
    assert (given.niter, given.niter_decay) == (6, 4)


@pytest.mark.parametrize(
    ("engine", "given", "words"),
    [
        ("spade", {"crop_size": 16}, "latent grid"),
        ("spade", {"use_vae": True, "crop_size": 128}, "crop_size >= 256"),
        ("sean", {"use_vae": True}, "SEAN has no VAE"),
        ("sean", {"num_upsampling_layers": "most"}, "most"),
        ("pix2pixhd", {"instance_feat": True, "no_instance": True}, "instance"),
        ("pix2pixhd", {"niter_fix_global": 2}, "netG local"),
        ("spade", {"batchSize": 0}, "batchSize"),
        ("sean", {"batchSize": 1, "crop_size": 32}, "one value per channel"),
    ],
)
def test_impossible_options_are_refused(engine, given, words):
    with pytest.raises(OptionError, match=words):
        resolve_options(engine, "d", "o", given, "custom")


def test_flags_round_trip_through_the_command_line():
    given = {"batchSize": 4, "crop_size": 128, "ngf": 8, "use_vae": True, "no_TTUR": True, "lambda_kld": 0.1}
    argv = command_line("spade", "/data", "/run", given)
    args = parse(argv[1:])
    assert given_options(args) == given
    assert args.engine == "spade" and args.data == "/data"
    alias = parse(["--batchSize", "3", "--fineSize", "96", "--resize_or_crop", "scale_width"])
    assert given_options(alias) == {"batchSize": 3, "crop_size": 96, "preprocess_mode": "scale_width"}


def test_resume_refuses_architecture_changes():
    saved = resolve_options("spade", "d", "o", {"ngf": 8}, "custom")
    assert architecture_differences(saved, {"ngf": 16, "steps": 9}) == ["--ngf 8 -> 16"]
    assert architecture_differences(saved, {"steps": 9, "lr": 0.1}) == []


def test_official_opt_has_every_key_of_the_official_opt_txt(tmp_path):
    """Our opt.txt carries every option the official train.py writes (names from the reference runs)."""
    cases = {
        "spade": ("spade_cityscapes", "cityscapes"),
        "sean": ("sean_celebahq", "custom"),
        "pix2pixhd": ("pix2pixhd_global", "flat"),
    }
    for engine, (case, layout) in cases.items():
        reference = read_opt_txt(require_shared("refs", case, "checkpoints", case, "opt.txt"))
        ours = official_opt(resolve_options(engine, "d", str(tmp_path / "run"), {"label_nc": 35}, layout))
        missing = set(reference) - set(ours) - {"label_dir", "image_dir", "instance_dir", "local_rank"}
        assert not missing, (engine, sorted(missing))
        assert ours["name"] == "run" and ours["checkpoints_dir"] == str(tmp_path)


def test_pix2pixhd_opt_counts_a_kept_dontcare_as_a_label():
    opt = resolve_options("pix2pixhd", "d", "o", {}, "coco-stuff")
    values = official_opt(opt)
    assert values["label_nc"] == 183 and values["no_lsgan"] is False and values["fineSize"] == opt.crop_size
    assert parse_opt_text("------------ Options -------------\nlabel_nc: 183\n")["label_nc"] == "183"


def test_saved_options_of_runs_written_before_the_slices_load_back():
    """train_options.json used to hold every engine's keys; --resume reads such files (other engines' keys dropped)."""
    import json

    from regionpaint.engines.training.options import TrainOptions

    saved = json.loads(resolve_options("sean", "d", "o", {"ngf": 8, "style_length": 16}, "custom").to_json())
    saved |= {"netG": "global", "n_clusters": 10, "use_vae": False, "instance_feat": False}  # the old flat table
    opt = TrainOptions.from_mapping(saved)
    assert (opt.engine, opt.ngf, opt.style_length, opt.n_layers_D) == ("sean", 8, 16, 3)
    assert not hasattr(opt, "netG") and not hasattr(opt, "use_vae")
    assert json.loads(opt.to_json()) == {
        k: v for k, v in saved.items() if k not in ("netG", "n_clusters", "use_vae", "instance_feat")
    }


def test_every_dialog_and_flag_option_comes_from_one_schema():
    """The train flags and the Train dialog read the same option objects (shared + each trainer's)."""
    from regionpaint.engines.training.flags import all_options
    from regionpaint.engines.training.options import registered_trainers
    from regionpaint.engines.training.schema import SHARED_OPTIONS

    options = {o.name: o for o in all_options()}
    trainers = registered_trainers()
    assert set(options) == {o.name for o in SHARED_OPTIONS} | {o.name for t in trainers.values() for o in t.options}
    args = parse(["--style-length", "32", "--n-clusters", "4", "--spade-hidden", "16"])
    assert given_options(args) == {"style_length": 32, "n_clusters": 4, "spade_hidden": 16}
