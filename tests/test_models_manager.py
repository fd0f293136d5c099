"""The model manager against a loopback server: get (mirror fallback, resume, verification), add, verify,
remove, licences, and the refusals — a corrupted byte, a wrong layout, hostile and oversized archives."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path
from threading import Event

import pytest
import torch

from regionpaint.app.model_manager import store
from regionpaint.app.model_manager.catalog import Catalog, load_catalog
from regionpaint.app.model_manager.errors import Cancelled, ModelError
from regionpaint.app.model_manager.manager import LicenceRequired, ModelManager
from tests.model_fixtures import bare_state, make_test_models, pth_bytes, tar_bytes
from tests.model_server import ModelServer


@pytest.fixture
def server():
    server = ModelServer()
    yield server
    server.close()


@pytest.fixture
def models(tmp_path, server, monkeypatch):
    served = make_test_models(tmp_path, server)
    monkeypatch.setenv("HF_ENDPOINT", server.base)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return served


def manager_for(models, root: Path, events: list | None = None, **kwargs) -> ModelManager:
    catalog = load_catalog(extra=[(models.catalog(), "test catalog")], use_env=False, use_plugins=False)
    manager = ModelManager(catalog=catalog, root=root, offline=False, **kwargs)
    if events is not None:
        manager.report = events.append
    manager.accept_licence(catalog.entry("test-spade-city"))
    return manager


def test_get_falls_back_from_a_404_mirror_unpacks_the_official_layout_and_records_the_hash(models, tmp_path):
    events = []
    manager = manager_for(models, tmp_path / "models", events)
    manifest = manager.get("test-spade-city")
    folder = tmp_path / "models" / "test-spade-city"
    # The 404 source was tried first, then the next one served the tarball.
    paths = [path for method, path, _ in models.server.requests if method == "GET"]
    assert paths.index("/gone/checkpoints.tar.gz") < paths.index("/files/checkpoints.tar.gz")
    assert any(e["event"] == "source-failed" and "404" in e["message"] for e in events)
    assert (folder / "latest_net_G.pth").read_bytes() == (models.spade_folder / "latest_net_G.pth").read_bytes()
    assert (folder / "opt.txt").read_bytes() == (models.spade_folder / "opt.txt").read_bytes()
    record = manifest.files["latest_net_G.pth"]
    assert record.sha256 == hashlib.sha256((folder / "latest_net_G.pth").read_bytes()).hexdigest()
    assert manager.status(manager.catalog.entry("test-spade-city")).state == "verified"
    assert any(e["event"] == "progress" and e["file"] == "checkpoints.tar.gz" for e in events)
    # Nothing else needs the archive: it is not kept, and no staging is left behind.
    assert not any((tmp_path / "models" / store.DOWNLOADS).rglob("*"))


def test_a_dropped_connection_resumes_from_where_it_stopped(models, tmp_path):
    models.server.files["/files/tiny_seg.pth"].drop_after = len(models.bare) // 2
    manager = manager_for(models, tmp_path / "models")
    manager.get("test-bare")
    gets = models.server.gets("/files/tiny_seg.pth")
    assert len(gets) == 2 and "Range" not in gets[0]
    assert gets[1]["Range"] == f"bytes={len(models.bare) // 2}-"  # the second request asked for the rest only
    assert (tmp_path / "models" / "test-bare" / "tiny_seg.pth").read_bytes() == models.bare


def test_a_cancelled_download_keeps_its_part_and_the_next_run_resumes(models, tmp_path):
    cancel = Event()
    events = []

    def report(event):
        events.append(event)
        if event["event"] == "progress" and event["done"] > 0:
            cancel.set()  # the person presses Cancel after the first chunk

    payload = torch.randn(600_000).numpy().tobytes()  # 2.4 MB: several 1 MiB chunks
    data = pth_bytes({"w": torch.frombuffer(bytearray(payload), dtype=torch.float32)})
    models.server.serve("/files/big.pth", data)
    catalog = models.catalog()
    entry = catalog["entries"][1]
    entry["files"][0].update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    entry["files"][0]["sources"] = [{"kind": "url", "url": models.server.url("/files/big.pth")}]
    catalog["layouts"]["tiny_seg"] = {"nets": {"weights": [["w", [600_000], "float32"]]}}
    models.write_catalog(catalog)
    manager = manager_for(models, tmp_path / "models", cancel=cancel)
    manager.report = report
    with pytest.raises(Cancelled):
        manager.get("test-bare")
    [part] = (tmp_path / "models" / store.DOWNLOADS / "test-bare").glob("tiny_seg.pth.*.part")
    assert 0 < part.stat().st_size < len(data)
    cancel.clear()
    manager.report = lambda event: None
    kept = part.stat().st_size
    manager.get("test-bare")
    ranges = [h.get("Range") for h in models.server.gets("/files/big.pth")]
    assert ranges[0] is None and ranges[-1] == f"bytes={kept}-"  # the second run asked for the rest only
    assert (tmp_path / "models" / "test-bare" / "tiny_seg.pth").read_bytes() == data


def test_a_corrupted_byte_is_refused_by_its_hash(models, tmp_path):
    corrupted = bytearray(models.bare)
    corrupted[len(corrupted) // 2] ^= 0xFF
    models.server.serve("/files/tiny_seg.pth", bytes(corrupted))
    manager = manager_for(models, tmp_path / "models")
    with pytest.raises(
        ModelError, match=r"tiny_seg.pth: not test-bare \(Tiny segmenter weights \(test\)\): its sha256"
    ):
        manager.get("test-bare")
    assert manager.status(manager.catalog.entry("test-bare")).state == "not installed"
    assert not (tmp_path / "models" / "test-bare" / "tiny_seg.pth").exists()


def test_a_wrong_layout_is_refused_naming_the_file_the_entry_and_the_first_mismatch(models, tmp_path):
    state = bare_state()
    state["conv.weight"] = torch.zeros(8, 3, 3, 3)  # one layer wider than the official one
    wrong = pth_bytes(state)
    models.server.serve("/files/tiny_seg.pth", wrong)
    catalog = models.catalog()
    catalog["entries"][1]["files"][0].update(size=None, sha256=None)  # only the layout can catch it
    models.write_catalog(catalog)
    manager = manager_for(models, tmp_path / "models")
    with pytest.raises(ModelError) as caught:
        manager.get("test-bare")
    message = str(caught.value)
    assert "tiny_seg.pth: not test-bare" in message
    assert "key 'conv.weight' has shape (8, 3, 3, 3), the official layout has (4, 3, 3, 3)" in message
    assert not (tmp_path / "models" / "test-bare").exists()


def test_another_engines_file_is_refused_and_named(models, tmp_path):
    """A SPADE generator served where the tiny segmenter belongs: refused, and recognised as the other entry."""
    models.server.serve("/files/tiny_seg.pth", (models.spade_folder / "latest_net_G.pth").read_bytes())
    catalog = models.catalog()
    catalog["entries"][1]["files"][0].update(size=None, sha256=None)
    models.write_catalog(catalog)
    manager = manager_for(models, tmp_path / "models")
    with pytest.raises(ModelError, match=r"missing key 'conv.weight'.*it matches test-spade-city instead"):
        manager.get("test-bare")


def _serve_archive(models, data: bytes) -> None:
    models.server.serve("/files/checkpoints.tar.gz", data)


def test_a_tar_with_a_member_climbing_out_is_refused_and_writes_nothing(models, tmp_path):
    good = (models.spade_folder / "latest_net_G.pth").read_bytes()
    _serve_archive(models, tar_bytes({"cityscapes_pretrained/latest_net_G.pth": good, "../../escaped.txt": b"gotcha"}))
    manager = manager_for(models, tmp_path / "models")
    with pytest.raises(ModelError, match=r"member '\.\./\.\./escaped.txt' is a path that climbs out"):
        manager.get("test-spade-city")
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not (tmp_path / "models" / "test-spade-city").exists()
    assert not list((tmp_path / "models" / store.DOWNLOADS).rglob("latest_net_G.pth"))


def test_a_member_inflating_past_its_bound_is_refused(models, tmp_path):
    catalog = models.catalog()
    catalog["entries"][0]["files"][1]["optional"] = False  # opt.txt: at most 1 MiB
    models.write_catalog(catalog)
    good = (models.spade_folder / "latest_net_G.pth").read_bytes()
    bomb = b"\0" * (3 << 20)  # compresses to a few kB, inflates to 3 MiB
    _serve_archive(
        models, tar_bytes({"cityscapes_pretrained/latest_net_G.pth": good, "cityscapes_pretrained/opt.txt": bomb})
    )
    manager = manager_for(models, tmp_path / "models")
    with pytest.raises(ModelError, match=r"member 'cityscapes_pretrained/opt.txt' declares 3145728 bytes, more than"):
        manager.get("test-spade-city")
    assert not list((tmp_path / "models").rglob("opt.txt"))


def test_a_link_inside_a_tar_is_refused(models, tmp_path):
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("cityscapes_pretrained/latest_net_G.pth")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(info)
    _serve_archive(models, buffer.getvalue())
    manager = manager_for(models, tmp_path / "models")
    with pytest.raises(ModelError, match="is a link"):
        manager.get("test-spade-city")


def test_add_recognises_a_file_a_folder_and_an_archive_already_on_disk(models, tmp_path):
    manager = manager_for(models, tmp_path / "models")
    downloaded = tmp_path / "Downloads"
    downloaded.mkdir()
    (downloaded / "79999_iter_renamed.pth").write_bytes(models.bare)  # a renamed file is recognised by its tensors
    [manifest] = manager.add(downloaded / "79999_iter_renamed.pth")
    assert manifest.entry == "test-bare" and manifest.files["tiny_seg.pth"].hash_from_catalog
    [manifest] = manager.add(models.spade_folder)  # the official folder: G and the optional opt.txt beside it
    assert manifest.entry == "test-spade-city" and set(manifest.files) == {"latest_net_G.pth", "opt.txt"}
    manager.remove("test-spade-city")
    (downloaded / "checkpoints.tar.gz").write_bytes(models.tarball)
    [manifest] = manager.add(downloaded / "checkpoints.tar.gz")
    assert manifest.entry == "test-spade-city"
    assert not models.server.requests  # add never downloads


def test_add_links_instead_of_copying_and_verify_finds_a_changed_file(models, tmp_path):
    manager = manager_for(models, tmp_path / "models")
    original = tmp_path / "mine.pth"
    original.write_bytes(models.bare)
    manager.add(original, link=True)
    installed = tmp_path / "models" / "test-bare" / "tiny_seg.pth"
    assert installed.is_symlink() and installed.resolve() == original.resolve()
    [result] = manager.verify()
    assert result.ok and "sha256 matches the catalog" in result.message
    changed = bytearray(models.bare)
    changed[-10] ^= 1
    original.write_bytes(bytes(changed))
    assert manager.status(manager.catalog.entry("test-bare")).state == "changed"
    [result] = manager.verify(["test-bare"])
    assert not result.ok and "its sha256" in result.message
    manager.remove("test-bare")
    assert original.exists()  # removing a linked model never deletes the person's file


def test_verify_records_a_file_placed_by_hand_and_then_detects_a_change(models, tmp_path):
    manager = manager_for(models, tmp_path / "models")
    folder = tmp_path / "models" / "test-spade-city"
    folder.mkdir(parents=True)
    (folder / "latest_net_G.pth").write_bytes((models.spade_folder / "latest_net_G.pth").read_bytes())
    entry = manager.catalog.entry("test-spade-city")
    assert manager.status(entry).state == "not verified"
    [result] = manager.verify()
    assert result.ok and "recorded" in result.message and manager.status(entry).state == "verified"
    # Same layout, other weights: only the hash recorded at install time can tell.
    state = torch.load(folder / "latest_net_G.pth", weights_only=True)
    state["fc.bias"] = state["fc.bias"] + 1
    torch.save(state, folder / "latest_net_G.pth")
    [result] = manager.verify()
    assert not result.ok and "differs from the one recorded when it was installed" in result.message


def test_a_non_commercial_licence_is_asked_once(models, tmp_path):
    catalog = load_catalog(extra=[(models.catalog(), "test catalog")], use_env=False, use_plugins=False)
    manager = ModelManager(catalog=catalog, root=tmp_path / "models", offline=False)
    with pytest.raises(LicenceRequired, match="Test licence, non-commercial"):
        manager.get("test-spade-city")
    assert not models.server.requests
    manager.accept_licence(catalog.entry("test-spade-city"))
    manager.get("test-spade-city")
    again = ModelManager(catalog=catalog, root=tmp_path / "models", offline=False)
    assert again.licence_accepted(catalog.entry("test-spade-city"))


def test_offline_touches_no_network_and_says_what_to_put_where(models, tmp_path):
    manager = manager_for(models, tmp_path / "models")
    manager.offline = True
    with pytest.raises(ModelError) as caught:
        manager.get("test-bare")
    assert not models.server.requests
    message = str(caught.value)
    assert models.server.url("/files/tiny_seg.pth") in message
    assert str(tmp_path / "models" / "test-bare" / "tiny_seg.pth") in message


def test_a_hub_mirror_through_huggingface_hub(models, tmp_path):
    pytest.importorskip("huggingface_hub")
    manager = manager_for(models, tmp_path / "models")
    manager.get("test-safetensors")
    folder = tmp_path / "models" / "test-safetensors"
    assert (folder / "spade_streets.safetensors").read_bytes() == models.safetensors.read_bytes()
    heads = [p for method, p, _ in models.server.requests if method == "HEAD"]
    assert "/test/demo/resolve/main/spade_streets.safetensors" in heads  # the Hub client's metadata request


def test_a_hub_mirror_without_huggingface_hub_uses_the_plain_resolve_url(models, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails as if it were not installed
    manager = manager_for(models, tmp_path / "models")
    manager.get("test-safetensors")
    assert models.server.gets("/test/demo/resolve/main/spade_streets.safetensors")
    assert not [p for method, p, _ in models.server.requests if method == "HEAD"]


def test_google_drive_goes_through_gdown_with_progress_resume_and_cancel(models, tmp_path, monkeypatch):
    calls = []

    class FakeGdown:
        @staticmethod
        def download(url=None, output=None, quiet=False, id=None, resume=False, progress=None, cancel=None):
            calls.append({"id": id, "resume": resume, "cancel": cancel is not None})
            Path(output).write_bytes(models.bare)
            progress(len(models.bare), len(models.bare))
            return output

    monkeypatch.setitem(sys.modules, "gdown", FakeGdown)
    catalog = models.catalog()
    catalog["entries"][1]["files"][0]["sources"] = [{"kind": "gdrive", "id": "FILE-ID", "official": True}]
    models.write_catalog(catalog)
    events = []
    manager_for(models, tmp_path / "models", events).get("test-bare")
    assert calls == [{"id": "FILE-ID", "resume": True, "cancel": True}]
    assert any(e["event"] == "progress" and e["done"] == len(models.bare) for e in events)


def test_google_drive_without_gdown_moves_on_with_advice(models, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gdown", None)
    catalog = models.catalog()
    sources = catalog["entries"][1]["files"][0]["sources"]
    sources.insert(0, {"kind": "gdrive", "id": "FILE-ID", "official": True})
    models.write_catalog(catalog)
    events = []
    manager_for(models, tmp_path / "models", events).get("test-bare")
    failed = [e["message"] for e in events if e["event"] == "source-failed"]
    assert failed and "pip install gdown" in failed[0]


def test_a_zip_archive_is_added_too(models, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "cityscapes_pretrained/latest_net_G.pth", (models.spade_folder / "latest_net_G.pth").read_bytes()
        )
    path = tmp_path / "checkpoints.zip"
    path.write_bytes(buffer.getvalue())
    [manifest] = manager_for(models, tmp_path / "models").add(path)
    assert manifest.entry == "test-spade-city" and set(manifest.files) == {"latest_net_G.pth"}


def test_a_file_matching_nothing_names_the_closest_entry(models, tmp_path):
    state = bare_state()
    del state["conv.bias"]
    path = tmp_path / "odd.pth"
    path.write_bytes(pth_bytes(state))
    with pytest.raises(ModelError, match=r"odd.pth: its tensors match no catalog entry.*closest is test-bare"):
        manager_for(models, tmp_path / "models").add(path)


def test_installed_models_resolve_for_render_and_segment(models, tmp_path, monkeypatch):
    from regionpaint.app.model_manager.manager import installed_segmenter_weights, resolve_checkpoint

    manager = manager_for(models, tmp_path / "models")
    manager.add(models.spade_folder)
    monkeypatch.setenv("REGIONPAINT_MODEL_CATALOG", str(models.catalog_path))
    root = tmp_path / "models"
    assert resolve_checkpoint("test-spade-city", root) == str(root / "test-spade-city")
    assert resolve_checkpoint("some/path") == "some/path"
    with pytest.raises(ModelError, match="test-bare .* is not installed; `regionpaint models get test-bare`"):
        resolve_checkpoint("test-bare", root)
    (tmp_path / "bare.pth").write_bytes(models.bare)
    manager.add(tmp_path / "bare.pth")
    assert installed_segmenter_weights("tiny-seg", root) == root / "test-bare" / "tiny_seg.pth"


def test_catalog_documents_from_a_plugin_hook_are_added(models):
    from regionpaint import hookimpl
    from regionpaint.plugins.manager import PluginManager

    class Plugin:
        @hookimpl
        def register_models(self, register):
            register(models.catalog())

    manager = PluginManager(default_plugins=(), load_entry_points=False, extra_plugins=[("test-models", Plugin())])
    [(document, origin)] = manager.model_catalogs()
    catalog = Catalog()
    catalog.add_document(json.loads(json.dumps(document)), origin)
    assert {"test-spade-city", "test-bare", "test-safetensors"} <= set(catalog.entries)
    assert catalog.entry("test-bare").origin == "plugin test-models"


def test_a_truncated_file_is_refused_naming_the_entry(models, tmp_path):
    good = (models.spade_folder / "latest_net_G.pth").read_bytes()
    _serve_archive(models, tar_bytes({"cityscapes_pretrained/latest_net_G.pth": good[: len(good) // 2]}))
    manager = manager_for(models, tmp_path / "models")
    with pytest.raises(ModelError, match=r"latest_net_G.pth: not test-spade-city \(Tiny SPADE · Cityscapes \(test\)\): "
                       r"the file is truncated or damaged"):  # fmt: skip
        manager.get("test-spade-city")


def test_get_keeps_a_verified_install_unless_forced(models, tmp_path):
    manager = manager_for(models, tmp_path / "models")
    manager.get("test-bare")
    asked = len(models.server.requests)
    manager.get("test-bare")
    assert len(models.server.requests) == asked  # nothing downloaded again
    manager.get("test-bare", force=True)
    assert len(models.server.requests) > asked
