"""generator.lazy: a deferred module is imported on first use and then behaves as the real one."""

from __future__ import annotations

import subprocess
import sys

from generator.workspace import CHECKOUT


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=CHECKOUT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_deferred_module_loads_on_first_attribute_and_replaces_the_stand_in() -> None:
    out = _run(
        "import sys\n"
        "from generator.lazy import defer\n"
        "defer('colorsys')\n"
        "import colorsys\n"
        "print(type(sys.modules['colorsys']).__name__)\n"
        "print(colorsys.rgb_to_hsv(1.0, 0.0, 0.0))\n"
        "import colorsys as again\n"
        "print(type(sys.modules['colorsys']).__name__, again.hsv_to_rgb(0.0, 1.0, 1.0))\n"
    )
    assert out.splitlines() == ["_Deferred", "(0.0, 1.0, 1.0)", "module (1.0, 0.0, 0.0)"]


def test_synth_entry_point_leaves_cfn_flip_unloaded_and_to_yaml_still_works() -> None:
    out = _run(
        "import sys, runpy\n"
        "sys.argv = ['generator', 'schema']\n"
        "import io, contextlib\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    runpy.run_module('generator', run_name='__main__')\n"
        "print(type(sys.modules['cfn_flip']).__name__)\n"
        "import troposphere\n"
        "t = troposphere.Template(Description='d')\n"
        "print(t.to_yaml().strip())\n"
    )
    assert out.splitlines() == ["_Deferred", "Description: d", "Resources: {}"]
