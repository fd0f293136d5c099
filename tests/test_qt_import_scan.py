"""PySide6's per-import source scan is skipped for PySide6-free libraries (app/qt/import_scan.py)."""

from __future__ import annotations

import sys
import types

from regionpaint.app.qt.import_scan import skip_source_scan


def test_the_editor_installs_the_skip_on_the_real_pyside6():
    import regionpaint.app.qt  # noqa: F401  (installs it at import)

    feature = sys.modules.get("shibokensupport.feature")
    if feature is None or not hasattr(feature, "_mod_uses_pyside"):
        import pytest

        pytest.skip("this PySide6 has no per-import source scan")
    assert getattr(feature._mod_uses_pyside, "skips", None) is not None
    assert "torch" in feature._mod_uses_pyside.skips


def test_free_packages_answer_at_once_and_others_are_scanned(monkeypatch):
    scanned: list[str] = []

    def scan(module) -> bool:
        scanned.append(module.__name__)
        return "uses" in module.__name__

    fake = types.SimpleNamespace(_mod_uses_pyside=scan)
    monkeypatch.setitem(sys.modules, "shibokensupport.feature", fake)
    assert skip_source_scan(frozenset({"torch", "pkg.sub"}))
    assert skip_source_scan(frozenset({"torch"}))  # a second call keeps the first wrapper
    asked = fake._mod_uses_pyside
    for name in ("torch", "torch._meta_registrations", "pkg.sub", "pkg.sub.deep"):
        assert asked(types.ModuleType(name)) is False
    assert scanned == []
    assert asked(types.ModuleType("plugin_that_uses_pyside")) is True
    assert asked(types.ModuleType("pkg.other")) is False
    assert asked(types.ModuleType("torchvision_lookalike")) is False  # not "torch": scanned
    assert scanned == ["plugin_that_uses_pyside", "pkg.other", "torchvision_lookalike"]


def test_without_the_scan_nothing_changes(monkeypatch):
    monkeypatch.setitem(sys.modules, "shibokensupport.feature", types.SimpleNamespace())
    assert skip_source_scan() is False
