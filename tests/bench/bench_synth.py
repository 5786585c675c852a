"""Benchmark: wall time of `synth` for every environment (warm artifact cache), in-process and as
the CLI a person runs. Prints figures; asserts nothing (bench_compare.py sets them against cdk and
Sceptre, with the targets)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from generator.synth import expected_files  # noqa: E402


def main() -> None:
    """Print median and best of several runs."""
    expected_files(ROOT)  # warm the artifact cache; a cold build is measured by bench_handler
    runs = []
    for _ in range(10):
        start = time.perf_counter()
        files = expected_files(ROOT)
        runs.append(time.perf_counter() - start)
    print(
        f"synth (in-process, {len(files)} files, all environments): "
        f"median {statistics.median(runs) * 1000:.0f} ms, best {min(runs) * 1000:.0f} ms"
    )
    cli = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "generator", "check"], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        cli.append(time.perf_counter() - start)
    print(
        f"`python -m generator check` (process start + imports + synth + compare): "
        f"median {statistics.median(cli) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
