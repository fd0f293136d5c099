"""Tiny training runs for each engine: events, run-folder files, resume, VGG, pix2pixHD stages, rendering."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from regionpaint.app.cli import main as cli_main
from regionpaint.engines.loading.options import read_opt_txt
from regionpaint.engines.training.checkpoints import RunDir, read_iter_txt
from regionpaint.engines.training.events import EVENT_TYPES
from regionpaint.engines.training.options import resolve_options
from regionpaint.engines.training.stopping import StopRequest
from regionpaint.engines.training.synthetic import write_dataset
from regionpaint.engines.training.trainer import Trainer, TrainingError
from tests.test_train_networks import _torchvision_like_vgg19

# Renders full-size reference networks, trains or starts processes: `./dev test -m "not slow"` skips it.
pytestmark = pytest.mark.slow

TINY = {"ngf": 4, "ndf": 8, "batchSize": 2, "log_every": 1, "sample_every": 2, "save_every": 2}
ENGINE_TINY = {
    "spade": {"crop_size": 64},
    "sean": {"crop_size": 32, "style_length": 8},
    "pix2pixhd": {"crop_size": 32, "load_size": 32, "n_downsample_global": 2, "n_blocks_global": 1, "nef": 4},
}


@pytest.fixture(autouse=True)
def no_vgg_cache(tmp_path, monkeypatch):
    """Runs see an empty torch hub cache unless a test puts VGG weights there."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"), "flat", count=4, size=(48, 48), label_nc=6)


def train(engine, data, out, layout="flat", resume=False, **given):
    opt = resolve_options(engine, data, out, {**TINY, **ENGINE_TINY[engine], **given}, layout, "cpu", resume)
    events = []
    result = Trainer(opt, events.append).run()
    return result, events


@pytest.mark.parametrize("engine", ["spade", "sean", "pix2pixhd"])
def test_tiny_run_writes_an_official_run_folder_and_renders(engine, data, tmp_path):
    extra = {"instance_feat": True, "n_clusters": 3} if engine == "pix2pixhd" else {}
    result, events = train(engine, data, tmp_path / "run", steps=3, **extra)
    assert result.status == "done" and result.step == 3
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and set(kinds) <= set(EVENT_TYPES)
    assert "warning" in kinds  # no VGG weights in the (empty) hub cache
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3]
    assert all(e["total_steps"] == 3 and e["losses"] and (e["it_s"] is None or e["it_s"] > 0) for e in steps)
    run = RunDir(tmp_path / "run")
    roles = {"spade": "GD", "sean": "GD", "pix2pixhd": "GDE"}[engine]
    for role in roles:
        assert run.network_file(role).is_file()
    opt = read_opt_txt(tmp_path / "run" / "opt.txt")
    assert opt["no_vgg_loss"] == "True" and opt["isTrain"] == "True" and opt["label_nc"] == "6"
    assert read_iter_txt(tmp_path / "run" / "iter.txt") == (2, 2)  # epoch 2, one batch of 2 images done
    assert len((tmp_path / "run" / "loss_log.jsonl").read_text().splitlines()) == 3
    samples = [e for e in events if e["event"] == "sample"]
    assert samples and Image.open(samples[0]["path"]).size[0] == 3 * ENGINE_TINY[engine]["crop_size"]
    if engine == "pix2pixhd":
        assert (tmp_path / "run" / "features_clustered_003.npy").is_file()
        assert any(e["event"] == "features" for e in events)

    args = ["render", "--checkpoint", str(tmp_path / "run"), "--label", str(data / "train_label" / "sample_0000.png")]
    args += ["--instance", str(data / "train_inst" / "sample_0000.png"), "--device", "cpu", "--out"]
    args += [str(tmp_path / "out.png")]
    if engine == "sean":
        photo, label = data / "train_img" / "sample_0000.png", data / "train_label" / "sample_0000.png"
        args += ["--style", f"A={photo}:{label}"]
    assert cli_main(args) == 0
    assert Image.open(tmp_path / "out.png").size == (ENGINE_TINY[engine]["crop_size"],) * 2


@pytest.mark.parametrize("engine", ["spade", "sean"])
def test_narrow_norms_and_l1_reconstruction_train_and_load_back(engine, data, tmp_path):
    """The demo models' extensions: narrow SPADE norms (and SEAN style encoder) and an L1 photo term."""
    from regionpaint.plugins.manager import get_plugin_manager

    narrow = {"spade_hidden": 8, "lambda_l1": 5.0} | ({"zencoder_ngf": 4} if engine == "sean" else {})
    result, events = train(engine, data, tmp_path / "run", steps=2, **narrow)
    assert result.status == "done"
    l1 = [e["losses"]["L1"] for e in events if e["event"] == "step"]
    assert len(l1) == 2 and all(value > 0 for value in l1)
    opt = read_opt_txt(tmp_path / "run" / "opt.txt")
    assert opt["spade_hidden"] == "8" and opt["lambda_l1"] == "5.0"
    weights = RunDir(tmp_path / "run").load_network("G")
    norm = "head_0.ace_0.Spade" if engine == "sean" else "head_0.norm_0"
    assert weights[f"{norm}.mlp_shared.0.weight"].shape[0] == 8

    loaded = get_plugin_manager().engine_class(engine)()
    loaded.load(tmp_path / "run", "cpu")
    assert loaded.config.spade_hidden == 8  # read from the tensors, not from opt.txt
    if engine == "sean":
        assert (loaded.config.zencoder_ngf, loaded.config.zencoder_mid) == (4, 32)
    out = tmp_path / "out.png"
    args = ["render", "--checkpoint", str(tmp_path / "run"), "--label", str(data / "train_label" / "sample_0000.png")]
    args += ["--instance", str(data / "train_inst" / "sample_0000.png"), "--device", "cpu", "--out", str(out)]
    if engine == "sean":
        args += ["--style", f"A={data / 'train_img' / 'sample_0000.png'}:{data / 'train_label' / 'sample_0000.png'}"]
    assert cli_main(args) == 0 and out.is_file()


def test_official_runs_record_no_extension_options(data, tmp_path):
    train("spade", data, tmp_path / "run", steps=1)
    opt = read_opt_txt(tmp_path / "run" / "opt.txt")
    assert "spade_hidden" not in opt and "lambda_l1" not in opt
    assert RunDir(tmp_path / "run").load_network("G")["head_0.norm_0.mlp_shared.0.weight"].shape[0] == 128


def test_cli_json_event_stream(data, tmp_path, capsys):
    argv = ["train", "--engine", "spade", "--data", str(data), "--out", str(tmp_path / "run"), "--json"]
    argv += ["--steps", "2", "--crop-size", "64", "--ngf", "4", "--ndf", "8", "--log-every", "1", "--device", "cpu"]
    assert cli_main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    events = [json.loads(line) for line in lines]  # every stdout line is one JSON event
    assert [e["event"] for e in events if e["event"] != "warning"] == [
        "start",
        "step",
        "sample",
        "step",
        "checkpoint",
        "done",
    ]
    start = events[0]
    assert {"engine", "run_dir", "device", "world_size", "dataset", "total_steps", "start_step"} <= set(start)
    assert {"options", "notes", "iters_per_epoch", "epochs", "resumed"} <= set(start)
    assert start["dataset"] == {"layout": "flat", "pairs": 4, "unpaired": 0} and start["world_size"] == 1
    step = next(e for e in events if e["event"] == "step")
    assert set(step) >= {"step", "epoch", "losses", "lr", "it_s", "eta_s", "time", "v"}
    assert set(step["losses"]) == {"GAN", "GAN_Feat", "D_Fake", "D_real"}
    assert step["lr"] == {"G": 0.0001, "D": 0.0004}  # TTUR: lr / 2 and lr * 2
    checkpoint = next(e for e in events if e["event"] == "checkpoint")
    assert checkpoint["reason"] == "final" and any(f.endswith("latest_net_G.pth") for f in checkpoint["files"])


def test_resume_continues_the_step_count_with_the_saved_weights(data, tmp_path):
    run = tmp_path / "run"
    train("spade", data, run, steps=2)
    saved_g = RunDir(run).load_network("G")
    saved_optim = RunDir(run).load_optimizers()
    # Resuming with nothing left to do loads the checkpoint and writes it back unchanged.
    result, events = train("spade", data, run, steps=2, resume=True)
    assert result.step == 2 and events[0]["start_step"] == 2 and events[0]["resumed"]
    again = RunDir(run).load_network("G")
    assert all(torch.equal(saved_g[k], again[k]) for k in saved_g)
    adam_steps = RunDir(run).load_optimizers()["optimizer_G"]["state"][0]["step"]
    assert adam_steps == saved_optim["optimizer_G"]["state"][0]["step"]
    result, events = train("spade", data, run, steps=5, resume=True)
    assert [e["step"] for e in events if e["event"] == "step"] == [3, 4, 5]
    assert RunDir(run).load_state().step == 5
    assert RunDir(run).load_optimizers()["optimizer_G"]["state"][0]["step"] == 5


def test_vgg_perceptual_loss_with_weights_in_the_hub_cache(data, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    _torchvision_like_vgg19(tmp_path / "torch" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth")
    result, events = train("spade", data, tmp_path / "run", steps=1, crop_size=32)
    assert "VGG" in next(e for e in events if e["event"] == "step")["losses"]
    assert "warning" not in [e["event"] for e in events]
    assert read_opt_txt(tmp_path / "run" / "opt.txt")["no_vgg_loss"] == "False"


def test_pix2pixhd_global_then_local_with_a_fixed_global_stage(data, tmp_path):
    train("pix2pixhd", data, tmp_path / "global", steps=1, ngf=8)
    base = {"netG": "local", "ngf": 4, "load_pretrain": str(tmp_path / "global"), "niter_fix_global": 1}
    base.update(niter=2, niter_decay=0, save_every=100)
    opt = resolve_options("pix2pixhd", data, tmp_path / "local", {**TINY, **ENGINE_TINY["pix2pixhd"], **base}, "flat")
    trainer = Trainer(opt)
    pretrained = RunDir(tmp_path / "global").load_network("G")
    seen = {}

    original = trainer._begin_epoch

    def record(state, optimizers):
        seen[state.epoch] = {k: v.clone() for k, v in trainer.model.module("G").state_dict().items()}
        return original(state, optimizers)

    trainer._begin_epoch = record
    result = trainer.run()
    assert result.step == 4  # 2 epochs of 2 iterations
    final = trainer.model.module("G").state_dict()
    global_keys = [k for k in final if k.startswith("model.")]
    local_keys = [k for k in final if k.startswith("model1_")]
    assert all(torch.equal(seen[1][k], pretrained[k]) for k in global_keys)  # started from the global run
    assert all(torch.equal(seen[2][k], pretrained[k]) for k in global_keys)  # epoch 1: only the enhancer moved
    assert any(not torch.equal(seen[2][k], seen[1][k]) for k in local_keys)
    assert any(not torch.equal(final[k], pretrained[k]) for k in global_keys)  # epoch 2: everything trains
    assert any("now training the whole generator" in n for n in trainer.opt.notes)


def test_spade_vae_trains_an_encoder_that_renders(tmp_path):
    data = write_dataset(tmp_path / "data", "flat", count=2, size=(128, 64), label_nc=4)
    given = {"use_vae": True, "crop_size": 256, "aspect_ratio": 2.0, "preprocess_mode": "fixed", "batchSize": 1}
    result, events = train("spade", data, tmp_path / "run", steps=1, **given)
    assert "KLD" in next(e for e in events if e["event"] == "step")["losses"]
    assert RunDir(tmp_path / "run").network_file("E").is_file()
    args = ["render", "--checkpoint", str(tmp_path / "run"), "--label", str(data / "train_label" / "sample_0000.png")]
    photo = data / "train_img" / "sample_0000.png"
    args += ["--instance", str(data / "train_inst" / "sample_0000.png"), "--style", f"A={photo}"]
    assert cli_main(args + ["--device", "cpu", "--out", str(tmp_path / "vae.png")]) == 0
    assert Image.open(tmp_path / "vae.png").size == (256, 128)


def test_bad_dataset_is_refused_before_training(data, tmp_path):
    broken = write_dataset(tmp_path / "broken", "flat", count=3, size=(32, 32), label_nc=4)
    ids = np.zeros((32, 32), np.uint8)
    ids[0, 0] = 200
    Image.fromarray(ids).save(broken / "train_label" / "sample_0001.png")
    events = []
    opt = resolve_options("spade", broken, tmp_path / "run", {**TINY, "crop_size": 32, "label_nc": 4}, "flat", "cpu")
    with pytest.raises(TrainingError, match="sample_0001.png: label ids 200 out of range"):
        Trainer(opt, events.append).run()
    assert events[-1]["event"] == "error" and not (tmp_path / "run" / "latest_net_G.pth").exists()


def test_a_stop_request_ends_the_run_with_a_resumable_checkpoint(data, tmp_path):
    opt = resolve_options("spade", data, tmp_path / "run", {**TINY, **ENGINE_TINY["spade"], "steps": 100}, "flat")
    stop = StopRequest()
    events = []

    def emit(event):
        events.append(event)
        if event["event"] == "step" and event["step"] == 2:
            stop.request("SIGINT")  # what the signal handler does

    result = Trainer(opt, emit, stop).run()
    assert result.status == "stopped" and result.step == 2
    assert [e["event"] for e in events[-2:]] == ["checkpoint", "stopped"]
    assert events[-2]["reason"] == "stop" and events[-1]["reason"] == "SIGINT"
    assert RunDir(tmp_path / "run").load_state().step == 2
    mode = os.stat(RunDir(tmp_path / "run").network_file("G")).st_mode & 0o777
    assert mode == 0o666 & ~current_umask()  # atomic writes still give ordinary permissions


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_trained_sean_renders_out_of_the_box_with_its_mean_codes(data, tmp_path):
    """The run saves per-class mean style codes; render with no style source uses them (@mean)."""
    from regionpaint.engines.base import InputError, RenderRequest, StyleSource
    from regionpaint.engines.sean.engine import SeanEngine
    from regionpaint.engines.sean.mean_codes import MEAN_CODES_FILE

    result, events = train("sean", data, tmp_path / "run", steps=1)
    saved = tmp_path / "run" / MEAN_CODES_FILE
    assert result.status == "done" and saved.is_file()
    assert any(e["event"] == "features" and e["path"] == str(saved) for e in events)

    engine = SeanEngine()
    engine.load(tmp_path / "run", "cpu")
    sources = [
        StyleSource(
            p.stem, np.asarray(Image.open(p).convert("RGB")), np.asarray(Image.open(data / "train_label" / p.name))
        )
        for p in sorted((data / "train_img").glob("*.png"))
    ]
    expected = engine.compute_style_statistics(sources)  # the official mean-code step over the training set
    with np.load(saved) as codes:
        assert np.allclose(codes["mean"], expected.mean, atol=1e-6) and (codes["count"] == expected.count).all()
    label = data / "train_label" / "sample_0000.png"
    out = tmp_path / "out.png"
    args = ["render", "--checkpoint", str(tmp_path / "run"), "--label", str(label), "--device", "cpu"]
    assert cli_main([*args, "--instance", str(data / "train_inst" / "sample_0000.png"), "--out", str(out)]) == 0
    assert Image.open(out).size == (ENGINE_TINY["sean"]["crop_size"],) * 2

    np.savez(saved, mean=np.zeros((2, 3), np.float32), std=np.zeros((2, 3), np.float32), count=np.zeros(2))
    stale = SeanEngine()
    stale.load(tmp_path / "run", "cpu")  # codes of another shape are ignored, not fatal
    with pytest.raises(InputError, match="style photo"):
        stale.generate(RenderRequest(label=np.zeros((32, 32), np.uint8)))
