"""Synth side by side with the comparison tools (``make bench``): prints figures, asserts nothing.

Each tool runs as a whole process, imports and interpreter start included, round-robin in one
run so that machine noise hits every tool alike:

- ours:    ``python -m generator synth`` of every generated file (all environments);
- cdk:     the reference stack's ``cdk synth`` of one environment (tests/bench/reference_cdk);
- sceptre: ``sceptre generate`` of three environments of a comparable troposphere template
           (tests/bench/sceptre);
- floors:  Python importing only the libraries rendering these templates needs, rendering
           nothing (tests/bench/floor.py): troposphere, awacs and PyYAML, then with pydantic too.
           No troposphere generator of this stack can start faster; each target is also shown as
           milliseconds beside them, so a target below the floor is visible as one.

Wall time is the median of the measured runs (after one unmeasured warm-up run each); peak RSS is
the largest resident set of any one process of the run (the tool and the children it waited for,
as ``wait4`` reports it: ``cdk synth``'s Node process and the Python app it starts are not added
up). The comparison tools come from ``make bench-tools`` (.venv-bench, .build/bench).

Python's compiled bytecode (``.pyc``) changes every Python tool's start-up several-fold, and
whether a tool has it depends on how it was installed (pip compiles, uv does not by default) and
on the caller's ``PYTHONDONTWRITEBYTECODE``. So each condition is set the same for every tool,
through a private ``PYTHONPYCACHEPREFIX`` (Python then reads and writes ``.pyc`` files only there):

- cold: only the standard library's ``.pyc`` (compiled into the prefix first, as an installed
  Python ships them); every installed package and the tool itself compiled from source on every
  run (packages installed without bytecode, with PYTHONDONTWRITEBYTECODE=1 as in many containers);
- warm: ``.pyc`` written by the warm-up run and reused (an ordinary installed machine).

    .venv/bin/python tests/bench/bench_compare.py --bench-python .venv-bench/bin/python \\
        --cdk .build/bench/node_modules/.bin/cdk [--runs 7 --cdk-runs 3 --condition cold warm]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "bench"
# The targets: ours >= 30x faster than cdk synth, >= 4x faster than Sceptre, <= 40 MiB.
TARGET_VS_CDK = 30.0
TARGET_VS_SCEPTRE = 4.0
TARGET_PEAK_MIB = 40.0
# No tool may reach AWS: fake credentials, and no config or credentials file of the machine.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
}


@dataclass
class Tool:
    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    runs: int
    seconds: list[float] = field(default_factory=list)
    peak_kib: list[int] = field(default_factory=list)

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_mib(self) -> float:
        return max(self.peak_kib) / 1024


def run_once(tool: Tool) -> tuple[float, int]:
    """One whole-process run: wall seconds and the peak RSS (KiB) ``wait4`` reports."""
    started = time.perf_counter()
    process = subprocess.Popen(
        tool.argv, cwd=tool.cwd, env=tool.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    process.returncode = code
    if code != 0:
        tail = "\n".join(stderr.strip().splitlines()[-10:])
        raise SystemExit(f"{tool.name}: {' '.join(tool.argv)} exited {code}\n{tail}")
    return seconds, usage.ru_maxrss


def tools(args: argparse.Namespace, out: Path) -> list[Tool]:
    base = {**os.environ, **FAKE_AWS}
    # absolute(), not resolve(): a venv's python is a symlink to the base interpreter.
    bench_python = Path(args.bench_python).absolute()
    bench_bin = str(bench_python.parent)
    return [
        Tool("ours: generator synth (all files)", [sys.executable, "-m", "generator", "synth"],
             ROOT, base, args.runs),
        Tool("cdk synth (reference, 1 env)",
             [str(Path(args.cdk).resolve()), "synth", "--quiet", "--no-notices",
              "--no-version-reporting", "--app", f"{bench_python} tap.py",
              "--context", "environmentSuffix=dev", "--output", str(out / "cdk.out")],
             BENCH / "reference_cdk", {**base, "PATH": f"{bench_bin}:{base.get('PATH', '')}"},
             args.cdk_runs),
        Tool("sceptre generate (3 envs)",
             [str(Path(bench_bin) / "sceptre"), "--dir", str(BENCH / "sceptre"), "generate", "."],
             BENCH / "sceptre", base, args.runs),
        Tool("floor: troposphere+awacs+PyYAML", [sys.executable, str(BENCH / "floor.py")],
             ROOT, base, args.runs),
        Tool("floor: the same + pydantic",
             [sys.executable, str(BENCH / "floor.py"), "--with-pydantic"], ROOT, base, args.runs),
    ]  # fmt: skip


CONDITIONS = ("cold", "warm")


def compile_stdlib(cache: Path) -> None:
    """The standard library's bytecode, into the prefix ``cache`` (the cold condition's base)."""
    stdlib = sysconfig.get_paths()["stdlib"]
    skip = r"[/\\](test|tests|site-packages|idlelib|tkinter|turtledemo|lib2to3|ensurepip)[/\\]"
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", "-x", skip, stdlib],
        env={**os.environ, "PYTHONPYCACHEPREFIX": str(cache)},
        stdout=subprocess.DEVNULL, check=False,
    )  # fmt: skip


def with_condition(subjects: list[Tool], condition: str, cache: Path) -> list[Tool]:
    """The tools with the same bytecode condition (see the module docstring)."""
    env = {"PYTHONPYCACHEPREFIX": str(cache)}
    if condition == "cold":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    drop = {"PYTHONDONTWRITEBYTECODE"}
    return [
        Tool(t.name, t.argv, t.cwd, {**{k: v for k, v in t.env.items() if k not in drop}, **env},
             t.runs)
        for t in subjects
    ]  # fmt: skip


def measure(subjects: list[Tool]) -> None:
    """One warm-up run each, then the measured runs, round-robin so load hits every tool alike."""
    for tool in subjects:
        run_once(tool)
    for round_ in range(max(t.runs for t in subjects)):
        for tool in subjects:
            if round_ < tool.runs:
                seconds, kib = run_once(tool)
                tool.seconds.append(seconds)
                tool.peak_kib.append(kib)


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def report(condition: str, subjects: list[Tool]) -> bool:
    """Print one condition's figures, ratios and verdicts; True when every target is met."""
    ours, cdk, sceptre, floor, floor_pydantic = subjects
    print(f"synth side by side, {condition} bytecode (whole processes, median wall time, "
          "peak RSS of one process):")  # fmt: skip
    for tool in subjects:
        spread = f"{min(tool.seconds) * 1000:.0f}-{max(tool.seconds) * 1000:.0f}"
        print(
            f"  {tool.name:<36} {tool.median_seconds * 1000:7.0f} ms "
            f"(n={len(tool.seconds)}, {spread:>11} ms)  {tool.peak_mib:6.1f} MiB"
        )
    vs_cdk = cdk.median_seconds / ours.median_seconds
    vs_sceptre = sceptre.median_seconds / ours.median_seconds
    checks = (vs_cdk >= TARGET_VS_CDK, vs_sceptre >= TARGET_VS_SCEPTRE,
              ours.peak_mib <= TARGET_PEAK_MIB)  # fmt: skip
    print(f"  ours vs cdk synth: {vs_cdk:5.1f}x faster  "
          f"(target >= {TARGET_VS_CDK:.0f}x: {verdict(checks[0])})")  # fmt: skip
    print(f"  ours vs sceptre:   {vs_sceptre:5.1f}x faster  "
          f"(target >= {TARGET_VS_SCEPTRE:.0f}x: {verdict(checks[1])})")  # fmt: skip
    print(f"  ours peak RSS:     {ours.peak_mib:5.1f} MiB  "
          f"(target <= {TARGET_PEAK_MIB:.0f} MiB: {verdict(checks[2])})")  # fmt: skip
    print(f"  memory: cdk synth {cdk.peak_mib / ours.peak_mib:.1f}x ours, "
          f"sceptre {sceptre.peak_mib / ours.peak_mib:.1f}x ours")  # fmt: skip
    print(f"  the targets as time: >= {TARGET_VS_CDK:.0f}x cdk is <= "
          f"{cdk.median_seconds / TARGET_VS_CDK * 1000:.0f} ms, >= {TARGET_VS_SCEPTRE:.0f}x "
          f"sceptre is <= {sceptre.median_seconds / TARGET_VS_SCEPTRE * 1000:.0f} ms; floors "
          f"{floor.median_seconds * 1000:.0f} ms (troposphere), "
          f"{floor_pydantic.median_seconds * 1000:.0f} ms (+ pydantic); ours is floor + "
          f"{(ours.median_seconds - floor_pydantic.median_seconds) * 1000:.0f} ms")  # fmt: skip
    return all(checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-python", required=True, help="python of .venv-bench")
    parser.add_argument("--cdk", required=True, help="the aws-cdk CLI")
    parser.add_argument("--runs", type=int, default=7, help="measured runs of ours, sceptre")
    parser.add_argument("--cdk-runs", type=int, default=3, help="measured runs of cdk synth")
    parser.add_argument("--condition", nargs="+", choices=CONDITIONS, default=list(CONDITIONS),
                        help="bytecode conditions to measure (default: both)")  # fmt: skip
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        for condition in args.condition:
            cache = Path(tmp) / f"pycache-{condition}"
            if condition == "cold":
                compile_stdlib(cache)
            subjects = with_condition(tools(args, Path(tmp)), condition, cache)
            measure(subjects)
            results[condition] = subjects
    met = [report(condition, subjects) for condition, subjects in results.items()]
    print("all targets met" if all(met) else "some targets missed (figures above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
