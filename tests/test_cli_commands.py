"""Every command the CLI registers runs: each one's ``--help``, and every listing command with and without ``--json``.

The commands are not listed here: a child process builds the real command line (built-ins and an installed
test plugin's command) and reports every sub-command path, so a command added tomorrow is covered the day it
is added. Each runs in a child process of its own, as a user would run it, and fails the test on a non-zero
exit or a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Builds the command line exactly as `regionpaint` does and prints each command path, whether it takes
# `--json`, and whether it can run with no further arguments (no required option or positional).
_LIST_COMMANDS = r"""
import argparse, json
from regionpaint.app.cli import CommandLine
from regionpaint.plugins.manager import get_plugin_manager

def walk(parser, path):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    opts = [s for a in parser._actions for s in a.option_strings]
    required = [a for a in parser._actions if a.required or (not a.option_strings and a.nargs in (None, "+")
                and not isinstance(a, argparse._SubParsersAction))]
    yield {"path": path, "json": "--json" in opts, "bare": not required}
    for action in subs:
        for name, child in action.choices.items():
            yield from walk(child, [*path, name])

cli = CommandLine()
get_plugin_manager().add_commands(cli)
print(json.dumps([c for name, p in cli.commands.items() for c in walk(p, [name])]))
"""

# A real installed plugin (a distribution with an entry point in the `regionpaint` group) that adds a
# command; written as an installed distribution so discovery goes through importlib.metadata as for pip.
_PLUGIN_MODULE = """
from regionpaint.plugins import hookimpl

@hookimpl
def register_commands(cli):
    def configure(parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")
    def run(args):
        print('["hello from a plugin"]' if args.json else "hello from a plugin")
        return 0
    cli.add_command("hello-plugin", "A test plugin's listing command.", configure, run)
"""

#: Listing commands that must be run bare and with --json, whatever the child reports (the issue names them).
NAMED_LISTINGS = (["engines"], ["plugins"], ["plugins", "list"], ["segmenters"])
#: Commands that do something with no arguments other than listing: opening the editor, creating files.
NOT_RUN_BARE = {("gui",), ("plugins", "new"), ("tune",)}  # tune: renders every demo model, timing kernels


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory) -> dict[str, str]:
    site = tmp_path_factory.mktemp("plugin-site")
    (site / "rp_hello_plugin.py").write_text(_PLUGIN_MODULE)
    dist = site / "rp_hello_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rp-hello-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[regionpaint]\nhello = rp_hello_plugin\n")
    env = {k: v for k, v in os.environ.items() if k != "REGIONPAINT_LOAD_PLUGINS"}
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO), str(site)]),
        REGIONPAINT_DATA_DIR=str(tmp_path_factory.mktemp("data")),
        QT_QPA_PLATFORM="offscreen",
    )
    return env


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )


def assert_ran(done: subprocess.CompletedProcess, args: list[str]) -> None:
    shown = f"`regionpaint {' '.join(args)}`"
    assert "Traceback" not in done.stderr + done.stdout, f"{shown} printed a traceback:\n{done.stderr}"
    assert done.returncode == 0, f"{shown} exited {done.returncode}:\n{done.stderr}"
    assert done.stdout.strip(), f"{shown} printed nothing"


@pytest.fixture(scope="module")
def commands(cli_env) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-c", _LIST_COMMANDS], capture_output=True, text=True, env=cli_env, cwd=REPO, timeout=300
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    paths = {tuple(c["path"]) for c in found}
    # The enumeration itself must see the built-ins, their sub-actions and the plugin's command.
    assert {("render",), ("segmenters",), ("plugins", "disable"), ("hello-plugin",)} <= paths
    return found


def test_every_registered_command_shows_its_help(cli_env, commands):
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda c: (c["path"], run_cli(cli_env, *c["path"], "--help")), commands))
    for path, done in runs:
        assert_ran(done, [*path, "--help"])
        assert "usage: regionpaint " + " ".join(path) in done.stdout


def test_every_listing_command_runs_with_and_without_json(cli_env, commands):
    listings = [list(p) for p in NAMED_LISTINGS]
    # Any command with --json that needs no argument is a listing too (a new `models list` is covered).
    listings += [c["path"] for c in commands if c["json"] and c["bare"] and tuple(c["path"]) not in NOT_RUN_BARE]
    listings = [list(p) for p in dict.fromkeys(tuple(p) for p in listings)]
    assert ["hello-plugin"] in listings
    runs = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for args in listings:
            runs.append((args, pool.submit(run_cli, cli_env, *args)))
            runs.append(([*args, "--json"], pool.submit(run_cli, cli_env, *args, "--json")))
        for args, future in runs:
            done = future.result()
            assert_ran(done, args)
            if args[-1] == "--json":
                json.loads(done.stdout)  # stdout is JSON and nothing else
