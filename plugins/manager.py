"""The plugin manager: loads built-in and installed plugins and collects what they register (engines,
trainers, label sets, commands).

Built-ins load from :data:`DEFAULT_PLUGINS` through the same hooks as third-party plugins. Installed
plugins are found through entry points in the ``regionpaint`` group (an entry point names a module
or an instance). ``REGIONPAINT_LOAD_PLUGINS`` (comma-separated entry-point or distribution names)
restricts which installed plugins load; set it to an empty string to load none.

A plugin's import and its hooks run under :func:`regionpaint.plugins.containment.run_plugin_code`: one that fails to
import, raises inside a hook, calls ``sys.exit()`` or ``os._exit()``, or raises ``KeyboardInterrupt``
itself is recorded with its error and skipped (what it prints goes to stderr): the application and the
other plugins keep working. So is a plugin whose ``REGIONPAINT_API`` is not compatible with this
regionpaint's plugin API (:mod:`regionpaint.plugins.api`). Installed plugins disabled with
``regionpaint plugins disable NAME`` (or in the editor's Plugins dialog; :mod:`regionpaint.plugins.state`) are
listed but not imported.

:func:`get_plugin_manager` loads once per process; :func:`reload_plugin_manager` scans again after
``plugins install`` / ``uninstall`` / ``enable`` / ``disable``, so a new engine is usable at once.
:func:`use_builtins_only` is for the commands that manage installed plugins: they import none of them.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from regionpaint.engines.base import CheckpointError, CheckpointInfo, Engine
from regionpaint.engines.segmenters.base import Segmenter
from regionpaint.engines.training.contract import EngineTrainer
from regionpaint.plugins import PROJECT_NAME, hookspecs
from regionpaint.plugins.api import ApiVersionError, check_api, declared_api
from regionpaint.plugins.containment import PluginCodeError, run_plugin_code
from regionpaint.plugins.discovery import installed_plugins

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = PROJECT_NAME  # also regionpaint.plugins.discovery.ENTRY_POINT_GROUP
LOAD_PLUGINS_ENV = "REGIONPAINT_LOAD_PLUGINS"
DEFAULT_PLUGINS: tuple[str, ...] = (
    "regionpaint.engines.spade.plugin",
    "regionpaint.engines.sean.plugin",
    "regionpaint.engines.pix2pixhd.plugin",
    "regionpaint.engines.segmenters.plugin",
    "regionpaint.app.model.builtin_label_sets",
    "regionpaint.app.commands",
)
# Hooks called once per plugin with a `register` callable, and the attribute each registers under.
_REGISTER_HOOKS = (
    "register_engines",
    "register_trainers",
    "register_label_sets",
    "register_segmenters",
    "register_models",
)


class PluginError(Exception):
    """A problem with a plugin (import failure, clash, bad registration)."""


@dataclass
class PluginInfo:
    name: str
    version: str
    source: str  # "built-in" or "entry point"
    module: str = ""
    hooks: list[str] = field(default_factory=list)
    engines: list[str] = field(default_factory=list)
    trainers: list[str] = field(default_factory=list)
    label_sets: list[str] = field(default_factory=list)
    segmenters: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    distribution: str = ""  # the installed package that provides it ("regionpaint" for built-ins)
    api: str | None = None  # the REGIONPAINT_API the plugin declares
    enabled: bool = True  # False: disabled by the person; listed, not imported
    commands: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if not self.enabled:
            return "disabled"
        return "failed" if self.errors else "loaded"


@dataclass(frozen=True)
class EngineEntry:
    engine_class: type[Engine]
    plugin: str


@dataclass(frozen=True)
class TrainerEntry:
    trainer_class: type[EngineTrainer]
    plugin: str


@dataclass(frozen=True)
class SegmenterEntry:
    segmenter_class: type[Segmenter]
    plugin: str


def _app_version() -> str:
    try:
        return importlib.metadata.version(PROJECT_NAME)
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def _short_error(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class PluginManager:
    """Loads plugins once and answers: which engines, label sets and commands exist, from which plugin."""

    def __init__(
        self,
        default_plugins: Iterable[str] = DEFAULT_PLUGINS,
        load_entry_points: bool = True,
        extra_plugins: Iterable[tuple[str, Any]] = (),
        disabled: Iterable[str] | None = None,
    ) -> None:
        # Disabled names default to what the person chose (plugins.json); tests pass their own.
        if disabled is None:
            from regionpaint.plugins.state import disabled_plugins

            disabled = disabled_plugins() if load_entry_points else ()
        self.disabled = set(disabled)
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self._engines: dict[str, EngineEntry] = {}
        self._trainers: dict[str, TrainerEntry] = {}
        self._label_sets: dict[str, tuple[Any, str]] = {}
        self._segmenters: dict[str, SegmenterEntry] = {}
        # (catalog document, "plugin NAME"), checked by app.model_manager
        self._model_catalogs: list[tuple[Any, str]] = []
        for module_name in default_plugins:
            self._load_builtin(module_name)
        if load_entry_points:
            self._load_entry_points()
        for name, plugin in extra_plugins:
            self._register(plugin, PluginInfo(name=name, version="", source="test"))
        self._collect()

    # -- loading -----------------------------------------------------------------------------
    def _load_builtin(self, module_name: str) -> None:
        info = PluginInfo(
            name=module_name, version=_app_version(), source="built-in", module=module_name, distribution=PROJECT_NAME
        )
        try:
            module = run_plugin_code(lambda: importlib.import_module(module_name))
        except PluginCodeError as exc:  # a broken plugin must not take the app down
            self._fail(info, f"import failed: {exc}")
            return
        self._register(module, info)

    def _load_entry_points(self) -> None:
        wanted = os.environ.get(LOAD_PLUGINS_ENV)
        allowed = None if wanted is None else {n.strip() for n in wanted.split(",") if n.strip()}
        for installed in installed_plugins():
            dist_name = installed.distribution
            if allowed is not None and installed.name not in allowed and dist_name not in allowed:
                continue
            info = PluginInfo(
                name=installed.name,
                version=installed.version,
                source="entry point",
                module=installed.value,
                distribution=dist_name,
            )
            if installed.name in self.disabled or (dist_name and dist_name in self.disabled):
                info.enabled = False
                self.plugins.setdefault(info.name, info)
                continue
            try:
                plugin = run_plugin_code(installed.entry_point.load)
            except PluginCodeError as exc:
                self._fail(info, f"import of {installed.value!r} failed: {exc}")
                continue
            if inspect.isclass(plugin):
                self._fail(info, f"entry point {installed.value!r} names a class; name a module or an instance")
                continue
            info.api = declared_api(plugin)
            try:
                check_api(plugin)
            except ApiVersionError as exc:
                self._fail(info, str(exc))
                continue
            self._register(plugin, info)

    def _register(self, plugin: Any, info: PluginInfo) -> None:
        if info.name in self.plugins:
            self._fail(info, f"a plugin named {info.name!r} is already loaded")
            return
        try:
            self.pm.register(plugin, name=info.name)
        except Exception as exc:  # pluggy validates hook signatures here
            self._fail(info, f"registration failed: {_short_error(exc)}")
            return
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or ())
        self.plugins[info.name] = info

    def _fail(self, info: PluginInfo, message: str) -> None:
        log.info("plugin %s: %s", info.name, message)
        info.errors.append(message)
        self.plugins.setdefault(info.name, info)

    # -- collecting registrations -----------------------------------------------------------------
    def _collect(self) -> None:
        registrars = {
            "register_engines": self._register_engine,
            "register_trainers": self._register_trainer,
            "register_label_sets": self._register_label_set,
            "register_segmenters": self._register_segmenter,
            "register_models": self._register_models,
        }
        for hook_name in _REGISTER_HOOKS:
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                self._call_hook(impl, registrars[hook_name])

    def _call_hook(self, impl: Any, registrar: Callable[[str, Any], None]) -> None:
        plugin = impl.plugin_name

        def register(obj: Any) -> None:
            registrar(plugin, obj)

        try:
            run_plugin_code(lambda: impl.function(*[register for _ in impl.argnames]))
        except PluginCodeError as exc:
            self._fail(self.plugins[plugin], f"hook {impl.function.__name__} {_hook_failure(exc)}")

    def _register_engine(self, plugin: str, engine_class: Any) -> None:
        if not (inspect.isclass(engine_class) and issubclass(engine_class, Engine)):
            raise PluginError(f"register_engines expects an Engine subclass, got {engine_class!r}")
        engine_id = getattr(engine_class, "id", None)
        if not isinstance(engine_id, str) or not engine_id:
            raise PluginError(f"engine class {engine_class.__name__} has no string 'id'")
        if engine_id in self._engines:
            other = self._engines[engine_id].plugin
            raise PluginError(f"engine id {engine_id!r} is registered by both {other!r} and {plugin!r}")
        self._engines[engine_id] = EngineEntry(engine_class, plugin)
        self.plugins[plugin].engines.append(engine_id)

    def _register_trainer(self, plugin: str, trainer_class: Any) -> None:
        if not (inspect.isclass(trainer_class) and issubclass(trainer_class, EngineTrainer)):
            raise PluginError(f"register_trainers expects an EngineTrainer subclass, got {trainer_class!r}")
        engine_id = getattr(trainer_class, "engine", None)
        if not isinstance(engine_id, str) or not engine_id:
            raise PluginError(f"trainer class {trainer_class.__name__} has no string 'engine'")
        if engine_id in self._trainers:
            other = self._trainers[engine_id].plugin
            raise PluginError(f"a trainer for engine {engine_id!r} is registered by both {other!r} and {plugin!r}")
        self._trainers[engine_id] = TrainerEntry(trainer_class, plugin)
        self.plugins[plugin].trainers.append(engine_id)

    def _register_label_set(self, plugin: str, label_set: Any) -> None:
        label_set_id = getattr(label_set, "id", None)
        if not isinstance(label_set_id, str) or not hasattr(label_set, "names"):
            raise PluginError(f"register_label_sets expects a LabelSet, got {label_set!r}")
        if label_set_id in self._label_sets:
            other = self._label_sets[label_set_id][1]
            raise PluginError(f"label set id {label_set_id!r} is registered by both {other!r} and {plugin!r}")
        self._label_sets[label_set_id] = (label_set, plugin)
        self.plugins[plugin].label_sets.append(label_set_id)

    def _register_segmenter(self, plugin: str, segmenter_class: Any) -> None:
        if not (inspect.isclass(segmenter_class) and issubclass(segmenter_class, Segmenter)):
            raise PluginError(f"register_segmenters expects a Segmenter subclass, got {segmenter_class!r}")
        segmenter_id = getattr(segmenter_class, "id", None)
        if not isinstance(segmenter_id, str) or not segmenter_id:
            raise PluginError(f"segmenter class {segmenter_class.__name__} has no string 'id'")
        if segmenter_id in self._segmenters:
            other = self._segmenters[segmenter_id].plugin
            raise PluginError(f"segmenter id {segmenter_id!r} is registered by both {other!r} and {plugin!r}")
        self._segmenters[segmenter_id] = SegmenterEntry(segmenter_class, plugin)
        self.plugins[plugin].segmenters.append(segmenter_id)

    def _register_models(self, plugin: str, document: Any) -> None:
        if not isinstance(document, dict):
            raise PluginError(f"register_models expects a catalog document (a dict), got {type(document).__name__}")
        self._model_catalogs.append((document, f"plugin {plugin}"))

    # -- queries ---------------------------------------------------------------------------------
    @property
    def errors(self) -> list[tuple[str, str]]:
        return [(info.name, err) for info in self.plugins.values() for err in info.errors]

    def engines(self) -> dict[str, EngineEntry]:
        return dict(self._engines)

    def engine_class(self, engine_id: str, package: str = "") -> type[Engine]:
        """The class registered under ``engine_id``; ``package`` (the distribution a project recorded for
        it) lets the error say what to install."""
        try:
            return self._engines[engine_id].engine_class
        except KeyError:
            raise PluginError(self.missing_engine_message(engine_id, package)) from None

    def missing_engine_message(self, engine_id: str, package: str = "") -> str:
        from regionpaint.plugins.install import normalize

        known = ", ".join(sorted(self._engines)) or "none"
        message = f"unknown engine {engine_id!r} (registered: {known})"
        idle_plugins = [i for i in self.plugins.values() if i.status != "loaded"]
        if package and package != PROJECT_NAME:
            # The package may be installed with its plugin disabled or broken: say that, not "install it".
            own = [i for i in idle_plugins if i.distribution and normalize(i.distribution) == normalize(package)]
            if own and not own[0].enabled:
                message = (
                    f"engine {engine_id!r} comes from the package {package!r}, whose plugin {own[0].name!r} is "
                    f"disabled: `regionpaint plugins enable {own[0].name}` (registered engines: {known})"
                )
            elif own:
                message = (
                    f"engine {engine_id!r} comes from the package {package!r}, whose plugin {own[0].name!r} failed "
                    f"to load: {own[0].errors[0]} (see `regionpaint plugins list`; registered engines: {known})"
                )
            else:
                message = (
                    f"engine {engine_id!r} comes from the package {package!r}, which is not installed or did not "
                    f"load; install it with `regionpaint plugins install {package}` (registered engines: {known})"
                )
            idle_plugins = [i for i in idle_plugins if i not in own]
        idle = [
            f"{i.name} (disabled: `regionpaint plugins enable {i.name}`)" if not i.enabled else f"{i.name} (failed)"
            for i in idle_plugins
        ]
        if idle:
            message += f"; plugins not loaded: {', '.join(idle)} (see `regionpaint plugins list`)"
        return message

    def engine_provider(self, engine_id: str) -> tuple[str, str]:
        """``(distribution, version)`` of the package that registered ``engine_id`` (empty when unknown)."""
        entry = self._engines.get(engine_id)
        info = self.plugins.get(entry.plugin) if entry is not None else None
        return (info.distribution, info.version) if info is not None else ("", "")

    def trainers(self) -> dict[str, TrainerEntry]:
        """Trainers by the engine id they train."""
        return dict(self._trainers)

    def model_catalogs(self) -> list[tuple[Any, str]]:
        """Catalog documents plugins registered through ``register_models``, with "plugin NAME" as their origin."""
        return list(self._model_catalogs)

    def segmenters(self) -> dict[str, SegmenterEntry]:
        return dict(self._segmenters)

    def segmenter_class(self, segmenter_id: str) -> type[Segmenter]:
        try:
            return self._segmenters[segmenter_id].segmenter_class
        except KeyError:
            known = ", ".join(sorted(self._segmenters)) or "none"
            raise PluginError(f"unknown segmenter {segmenter_id!r} (registered: {known})") from None

    def label_sets(self) -> dict[str, Any]:
        return {key: value for key, (value, _plugin) in self._label_sets.items()}

    def label_set(self, label_set_id: str) -> Any:
        try:
            return self._label_sets[label_set_id][0]
        except KeyError:
            known = ", ".join(sorted(self._label_sets)) or "none"
            raise PluginError(f"unknown label set {label_set_id!r} (registered: {known})") from None

    def engine_origin(self, engine_id: str) -> str:
        """``engine 'x' (plugin 'y', package z 1.0)`` for messages; built-ins are named as such."""
        entry = self._engines.get(engine_id)
        if entry is None:
            return f"engine {engine_id!r}"
        if entry.plugin.startswith("regionpaint.engines."):
            return f"engine {engine_id!r} (built in)"
        package, version = self.engine_provider(engine_id)
        if package:  # which distribution to update or uninstall
            return f"engine {engine_id!r} (plugin {entry.plugin!r}, package {package} {version})".replace(" )", ")")
        return f"engine {engine_id!r} (plugin {entry.plugin!r})"

    def resolve_checkpoint(self, path: str | Path, engine_id: str = "") -> tuple[type[Engine], CheckpointInfo]:
        """The engine for a checkpoint and the checkpoint's facts as that engine reads them: engines with a
        layout of their own (``Engine.locate``) first, then the generic rules and ``recognizes``
        (:func:`regionpaint.plugins.checkpoint_claims.resolve`)."""
        from regionpaint.plugins.checkpoint_claims import resolve

        return resolve(self, Path(path), engine_id)

    def claims_checkpoint(self, path: str | Path) -> bool:
        """Whether an engine with a layout of its own takes ``path`` as its checkpoint (broken ones included,
        so a picker lists them and the render says what is wrong); its bugs count as no."""
        from regionpaint.plugins.checkpoint_claims import claimed

        return claimed(self, Path(path))

    def engine_for_checkpoint(self, info: CheckpointInfo) -> type[Engine]:
        """The registered engine that recognises a checkpoint (a sidecar's declared engine wins)."""
        if info.declared_engine:
            if info.declared_engine not in self._engines:
                registered = ", ".join(sorted(self._engines)) or "none"
                where = info.files.get("sidecar", info.path)
                raise CheckpointError(
                    f"{where}: names engine {info.declared_engine!r}, which is not installed (registered: {registered})"
                )
            return self.engine_class(info.declared_engine)
        matches = []
        for entry in self._engines.values():
            try:
                if entry.engine_class.recognizes(info):
                    matches.append(entry.engine_class)
            except Exception as exc:  # a third-party engine's bug must not hide the others
                log.warning("engine %s failed to inspect %s: %s", entry.engine_class.id, info.path, exc)
        if not matches:
            raise CheckpointError(f"{info.path}: no registered engine recognises this checkpoint")
        if len(matches) > 1:
            ids = ", ".join(m.id for m in matches)
            raise CheckpointError(f"{info.path}: several engines recognise this checkpoint ({ids}); pass --engine")
        return matches[0]

    def plugin_rows(self) -> list[dict]:
        """One dict per plugin: what ``plugins list --json`` prints and the Plugins dialog shows."""
        return [
            {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "source": info.source,
                "status": info.status,
                "api": info.api,
                "hooks": info.hooks,
                "engines": info.engines,
                "label_sets": info.label_sets,
                "commands": info.commands,
                "segmenters": info.segmenters,
                "errors": info.errors,
            }
            for info in self.plugins.values()
        ]

    def collect_commands(self) -> None:
        """Learn which plugin adds which command (each plugin's ``commands``), once per manager."""
        if not any(info.commands for info in self.plugins.values()):
            from regionpaint.plugins.command_line import CommandLine

            self.add_commands(CommandLine())

    def add_commands(self, cli: Any) -> None:
        """Let every plugin add CLI commands; a failing plugin is reported and skipped (the commands it added
        before failing stay)."""
        for impl in self.pm.hook.register_commands.get_hookimpls():
            before = set(getattr(cli, "commands", ()))
            try:
                run_plugin_code(lambda impl=impl: impl.function(cli))
            except PluginCodeError as exc:
                self._fail(self.plugins[impl.plugin_name], f"hook register_commands {_hook_failure(exc)}")
            added = [name for name in getattr(cli, "commands", ()) if name not in before]
            self.plugins[impl.plugin_name].commands = added

    def record_error(self, plugin: str, message: str) -> None:
        """Report a problem found with ``plugin`` after loading (e.g. a refused command-line flag), once."""
        info = self.plugins.get(plugin)
        if info is not None and message not in info.errors:
            self._fail(info, message)


def _hook_failure(exc: PluginCodeError) -> str:
    """``raised ValueError: ...`` or ``called sys.exit(1); ...``: what the hook did, after its name."""
    text = str(exc)
    return text if text.startswith(("called ", "raised ")) else f"raised {text}"


_current: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The application's plugin manager, loaded on first use."""
    global _current
    if _current is None:
        _current = PluginManager()
    return _current


def _forget_plugin_manager() -> None:
    global _current
    _current = None


get_plugin_manager.cache_clear = _forget_plugin_manager  # the next call loads again (tests, reloads)


def use_builtins_only() -> PluginManager:
    """Make the process's manager one that imports no installed plugin, and return it.

    For ``plugins disable`` / ``enable`` / ``uninstall``: the way out of a broken plugin must work even
    when importing that plugin would end the process. They read installed plugins from metadata
    (:mod:`regionpaint.plugins.discovery`) instead.
    """
    global _current
    _current = PluginManager(load_entry_points=False)
    return _current


def reload_plugin_manager() -> PluginManager:
    """Scan the installed plugins again (after an install, uninstall, enable or disable) and return the new manager.

    Site folders are re-read first, so a package installed by this process (``.pth`` files of editable
    installs included) is importable without a restart. Engines already loaded keep working.
    """
    import site
    import sys

    importlib.invalidate_caches()
    for folder in [*site.getsitepackages(), site.getusersitepackages()]:
        if os.path.isdir(folder) and folder in sys.path:
            site.addsitedir(folder)  # processes .pth files added since start-up
    get_plugin_manager.cache_clear()
    return get_plugin_manager()
