"""What the command line tells a plugin's user: ``--no-noise`` is for every engine with noise, an uninstall pip
declined is not an empty ``Removed:``, and a project whose engine's plugin is disabled or broken says so
instead of "not installed"."""

from __future__ import annotations

import subprocess
import sys

import pytest

from regionpaint.plugins.manager import PluginManager
from tests.plugin_env import REPO, make_plugin_env
from tests.test_plugins import TOY_ENGINE, make_distribution, site  # noqa: F401  (site: a fixture)


def test_no_noise_help_names_the_capability_not_one_engine():
    for command in ("render", "batch"):
        result = subprocess.run(
            [sys.executable, "-m", "regionpaint", command, "--help"],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        words = " ".join(result.stdout.split())  # argparse wraps the help text
        assert "--no-noise switch stochastic noise off (any engine with the 'noise' capability" in words, command


@pytest.mark.slow
def test_an_uninstall_pip_declines_is_an_error_naming_where_the_copy_is(tmp_path):
    env = make_plugin_env(tmp_path / "env")
    # A plugin's metadata in a folder on PYTHONPATH (a source checkout), not in this environment: pip declines.
    make_distribution(tmp_path / "src", "rp-stale", "0.1", {"stale": "rp_stale"}, {"rp_stale": "x = 1\n"})
    result = env.cli("plugins", "uninstall", "stale", PYTHONPATH=f"{tmp_path / 'src'}:{REPO}")
    assert "outside environment" in result.stdout  # pip's own words
    assert "Removed:" not in result.stdout  # it printed "Removed: " and nothing after it
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"regionpaint: error: pip did not remove rp-stale at {tmp_path / 'src'} (outside this environment: delete it "
        "there or take it off PYTHONPATH; `regionpaint plugins disable NAME` keeps a plugin from loading)"
    )


def test_a_projects_engine_from_a_disabled_or_broken_plugin_says_so(site):  # noqa: F811
    make_distribution(
        site, "rp-off", "0.1", {"off": "rp_test_off"}, {"rp_test_off": TOY_ENGINE.format(engine_id="off")}
    )
    make_distribution(site, "rp-bad", "0.1", {"bad": "rp_test_bad"}, {"rp_test_bad": "1 / 0\n"})
    manager = PluginManager(disabled={"off"})
    disabled = manager.missing_engine_message("off", "rp-off")
    assert disabled.startswith(
        "engine 'off' comes from the package 'rp-off', whose plugin 'off' is disabled: `regionpaint plugins enable off`"
    )
    assert "not installed" not in disabled
    broken = manager.missing_engine_message("bad", "rp-bad")
    assert broken.startswith(
        "engine 'bad' comes from the package 'rp-bad', whose plugin 'bad' failed to load: "
        "import of 'rp_test_bad' failed: ZeroDivisionError: division by zero"
    )
    assert "not installed" not in broken and "plugins not loaded: off (disabled" in broken
    # A package that is not there at all is still "not installed ... install it".
    assert "`regionpaint plugins install rp-gone`" in manager.missing_engine_message("gone", "rp-gone")
