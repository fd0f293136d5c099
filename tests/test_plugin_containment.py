"""A broken plugin never takes the application with it, nor the command that disables it.

Each case is a real installed-looking distribution (dist-info with an entry point, found by importlib.metadata)
on the PYTHONPATH of a real `regionpaint` process.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_batch_cli import SPADE, write_street_maps
from tests.test_plugins import TOY_ENGINE, make_distribution

REPO = Path(__file__).resolve().parents[1]

HOOK = """
from regionpaint.plugins import hookimpl

@hookimpl
def register_engines(register):
    {body}
"""


def install(tmp_path: Path, name: str, source: str) -> dict[str, str]:
    """Install plugin ``name`` (module ``rp_<name>``) into a fresh site folder; the environment to run with."""
    site = tmp_path / "site"
    make_distribution(site, f"rp-{name}", "0.1", {name: f"rp_{name}"}, {f"rp_{name}": source})
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{site}:{REPO}",
        "REGIONPAINT_DATA_DIR": str(tmp_path / "data"),
        "QT_QPA_PLATFORM": "offscreen",
    }


def cli(env: dict[str, str], *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout
    )


def listed(env: dict[str, str]) -> dict[str, dict]:
    result = cli(env, "plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}


BREAKERS = {
    "sys.exit() at import": ("import sys\nsys.exit()\n", "called sys.exit(None)"),
    "sys.exit(3) at import": ("import sys\nsys.exit(3)\n", "called sys.exit(3)"),
    "os._exit(0) at import": ("import os\nos._exit(0)\n", "called os._exit(0)"),
    "from os import _exit at import": ("from os import _exit\n_exit(5)\n", "called os._exit(5)"),
    "KeyboardInterrupt at import": ("raise KeyboardInterrupt\n", "raised KeyboardInterrupt itself"),
    "SystemExit in a hook": (HOOK.format(body="raise SystemExit(1)"), "hook register_engines called sys.exit(1)"),
    "os._exit in a hook": (HOOK.format(body="import os; os._exit(0)"), "hook register_engines called os._exit(0)"),
    "KeyboardInterrupt in a hook": (HOOK.format(body="raise KeyboardInterrupt"), "raised KeyboardInterrupt itself"),
}


@pytest.mark.parametrize("case", list(BREAKERS))
def test_a_plugin_that_exits_or_interrupts_is_a_load_error_and_disabling_it_works(tmp_path, case):
    source, words = BREAKERS[case]
    env = install(tmp_path, "breaker", source)
    engines = cli(env, "engines", "--json")
    assert engines.returncode == 0, engines.stderr
    assert {"spade", "sean", "pix2pixhd"} <= {e["id"] for e in json.loads(engines.stdout)}  # the app kept going
    assert "plugin breaker: " in engines.stderr and words in engines.stderr, engines.stderr
    assert "Traceback" not in engines.stderr
    assert listed(env)["breaker"]["status"] == "failed"
    disabled = cli(env, "plugins", "disable", "breaker")
    assert disabled.returncode == 0 and disabled.stdout.strip() == "breaker: disabled", disabled
    assert listed(env)["breaker"]["status"] == "disabled"
    quiet = cli(env, "engines")
    assert quiet.returncode == 0 and "breaker" not in quiet.stderr


def test_the_way_out_never_imports_the_plugin(tmp_path):
    """A plugin that kills its process at import (nothing can contain SIGKILL): disable and enable still work."""
    env = install(tmp_path, "killer", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    assert cli(env, "engines").returncode == -signal.SIGKILL  # what importing it does
    disabled = cli(env, "plugins", "disable", "rp-killer")  # by its package name
    assert disabled.returncode == 0 and disabled.stdout.strip() == "killer: disabled", disabled
    assert cli(env, "engines").returncode == 0
    enabled = cli(env, "plugins", "enable", "killer")
    assert enabled.returncode == 0 and "killer: enabled" in enabled.stdout, enabled
    unknown = cli(env, "plugins", "disable", "nothing-like-it")
    assert unknown.returncode == 2 and "no installed plugin named 'nothing-like-it'" in unknown.stderr


def test_a_real_ctrl_c_during_plugin_import_still_stops_the_program(tmp_path):
    ready = tmp_path / "importing"
    slow = f"import pathlib, time\npathlib.Path({str(ready)!r}).touch()\ntime.sleep(60)\n"
    env = install(tmp_path, "slow", slow)
    process = subprocess.Popen(
        [sys.executable, "-m", "regionpaint", "engines"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the plugin never started importing"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "regionpaint: interrupted" and "Traceback" not in err
    assert out == ""  # stopped, not listed without the plugin


OPTION_ENGINE = TOY_ENGINE.replace(
    'label_sets = ("cityscapes",)',
    'label_sets = ("cityscapes",)\n'
    '    options = (Option("size", "str", flag=True), Option("toy_gain", "float", 1.0, flag=True))',
).replace(
    "from regionpaint.plugins import hookimpl",
    "from regionpaint.plugins import hookimpl\nfrom regionpaint.engines.schema import Option",
)


def test_an_engine_option_named_like_a_render_flag_is_refused_and_every_command_registers(tmp_path):
    env = install(tmp_path, "clash", OPTION_ENGINE.format(engine_id="clash"))
    top = cli(env, "--help")
    assert top.returncode == 0, top.stderr
    for command in ("render", "gui", "batch", "train", "segment", "export-labels"):
        assert command in top.stdout, f"{command} vanished: {top.stdout}"
    assert "engine 'clash' option 'size': its flag --size is already a flag of `regionpaint render`" in top.stderr
    render = cli(env, "render", "--help")
    assert render.returncode == 0, render.stderr
    assert "--size WxH" in render.stdout and "--out OUT.png" in render.stdout and "--photo PHOTO" in render.stdout
    assert "--toy-gain FLOAT" in render.stdout  # the plugin's other flag is kept
    assert cli(env, "batch", "--help").returncode == 0
    errors = listed(env)["clash"]["errors"]
    assert len(errors) == 1 and "--option size=VALUE" in errors[0]


def test_what_a_plugin_prints_goes_to_stderr_and_json_stdout_stays_json(tmp_path):
    printer = HOOK.format(body="print('printed by a hook')") + "\nprint('printed at import')\n"
    env = install(tmp_path, "printer", printer)
    engines = cli(env, "engines", "--json")
    assert engines.returncode == 0, engines.stderr
    json.loads(engines.stdout)
    assert "printed at import" in engines.stderr and "printed by a hook" in engines.stderr
    write_street_maps(tmp_path / "city", 1)
    out = tmp_path / "out"
    batch = cli(
        env, "batch", "--checkpoint", str(SPADE), "--labels", str(tmp_path / "city"), "--out", str(out),
        "--device", "cpu", "--json", timeout=300,
    )  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    events = [json.loads(line) for line in batch.stdout.splitlines()]  # every line is JSON
    assert events[-1]["event"] == "done" and events[-1]["rendered"] == 1
    assert "printed at import" in batch.stderr
