"""The deploy engine under faults, end to end: the command line as a subprocess, the embedded
emulator behind a fault-injecting proxy (``tests/faults/proxy.py``), and after each case a check
of the end state (the stack, its policy, its change sets, the function, the artifact), not only
of the exit code.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from generator import naming
from tests.faults.conftest import STACK, World
from tests.faults.proxy import Rules

pytestmark = pytest.mark.e2e


def ok(done: subprocess.CompletedProcess[str]) -> str:
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"exit {done.returncode}\n{output}"
    return output


def settled_as_committed(world: World, memory_mb: int, *, status: bool = False) -> None:
    """The end state every case must reach: the stack settled on the committed template, the
    change live, the full policy back, no change set left to run (and, with ``status``, the
    command's own verdict on all of it)."""
    world.settle()
    assert world.stack_status() in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    assert world.memory() == memory_mb
    assert world.live_policy() == world.expected_policy()
    assert world.waiting_change_sets() == []
    if status:
        done = world.run("status", "--env", "local", through_proxy=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "stack policy: every stateful resource protected" in done.stdout


@pytest.mark.slow(11)
def test_plan_and_deploy_go_through_when_a_third_of_all_calls_fail(world: World) -> None:
    world.set_memory(384)
    world.proxy.reset(Rules(failure_rate=0.3, seed=11))
    plan = ok(world.run("plan", "--env", "local"))
    assert "MemorySize: 256 → 384" in plan
    world.proxy.reset(Rules(failure_rate=0.3, seed=12))
    ok(world.run("deploy", "--env", "local"))
    faults = sum(world.proxy.injected.values())
    calls = sum(world.proxy.seen.values())
    assert faults >= 5, world.proxy.injected  # the faults were real
    assert set(world.proxy.injected) == {"unavailable", "throttled", "reset"}
    print(f"{faults} faults injected in {calls} calls of the deploy")
    settled_as_committed(world, 384)


@pytest.mark.slow(18)
def test_a_deploy_killed_after_each_state_changing_call_is_finished_by_the_next(
    world: World,
) -> None:
    """One change, killed at each step in turn (create change set, lift the policy, execute),
    then a second change that needs a new artifact, killed at the upload and during the wait."""
    world.set_memory(320)
    allow = ("--allow-replace", "DataBucket")
    for step in ("CreateChangeSet", "SetStackPolicy", "ExecuteChangeSet"):
        world.proxy.reset()
        process: list[subprocess.Popen[str]] = []
        # The app stack's calls, not the bootstrap stack's (a change set's ARN names neither).
        world.kill_after(step, process, containing="" if step == "ExecuteChangeSet" else STACK)
        process.append(world.start("deploy", "--env", "local", *allow))
        assert process[0].wait(timeout=120) == -9, f"not killed at {step}"
        if step in ("SetStackPolicy", "ExecuteChangeSet"):
            # SIGKILL left the data bucket unprotected: status says so with its own exit code.
            status = world.run("status", "--env", "local", through_proxy=False)
            assert status.returncode == 6, status.stdout + status.stderr
            assert "RELAXED: DataBucket can be replaced or deleted" in status.stdout
    world.settle()  # the executed change set went on without the killed command
    assert world.memory() == 320
    rerun = ok(world.run("deploy", "--env", "local", through_proxy=False))
    assert "stack policy of TapStacklocal: restored (DataBucket protected again)" in rerun
    settled_as_committed(world, 320, status=True)

    handler = world.root / "handler" / "app.py"
    handler.write_text(handler.read_text(encoding="utf-8") + "\n# a new build\n", "utf-8")
    world.set_memory(448)
    for step in ("PutObject", "DescribeStackEvents"):
        world.proxy.reset()
        process = []
        if step == "DescribeStackEvents":  # during the wait: after the execute, not before
            world.proxy.rules.after["ExecuteChangeSet"] = (
                lambda killed=process: world.kill_after("DescribeStackEvents", killed),
                "",  # a change set's ARN does not name its stack
            )
        else:
            world.kill_after(step, process, containing="handler/")
        process.append(world.start("deploy", "--env", "local"))
        assert process[0].wait(timeout=120) == -9, f"not killed at {step}"
    ok(world.run("deploy", "--env", "local", through_proxy=False))
    settled_as_committed(world, 448)
    template = json.loads((world.root / "templates" / "local.json").read_text("utf-8"))
    handler_sha = template["Metadata"]["ServerlessApp"]["handlerSha256"]
    bucket = naming.artifact_bucket("123456789012", "us-east-1")
    stored = world.client("s3").get_object(Bucket=bucket, Key=f"handler/{handler_sha}.zip")
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == handler_sha


@pytest.mark.slow(11)
def test_lost_replies_are_reconciled_from_what_cloudformation_did(world: World) -> None:
    world.set_memory(512)
    lost = {"CreateChangeSet", "SetStackPolicy", "ExecuteChangeSet"}
    world.proxy.reset(Rules(lose_reply_of=set(lost)))
    output = ok(world.run("deploy", "--env", "local", "--allow-replace", "DataBucket"))
    assert set(world.proxy.lost) == lost
    assert "executed; the reply to ExecuteChangeSet was lost" in output
    settled_as_committed(world, 512)

    handler = world.root / "handler" / "app.py"
    handler.write_text(handler.read_text(encoding="utf-8") + "\n# another build\n", "utf-8")
    world.synth()
    world.proxy.reset(Rules(lose_reply_of={"PutObject"}))
    ok(world.run("deploy", "--env", "local"))
    assert world.proxy.lost == ["PutObject"]
    settled_as_committed(world, 512)


@pytest.mark.slow(6)
def test_two_deploys_of_one_stack_at_once_never_overwrite_each_other_silently(
    world: World, tmp_path: Path
) -> None:
    """Two checkouts (two state folders, so no local lock between them) deploy different
    changes at the same moment: one wins; the other is refused, or applies on top after it."""
    import shutil

    other_root = tmp_path / "other"
    shutil.copytree(world.root, other_root)
    other = World(other_root, {**world.env, "SERVERLESSAPP_STATE_DIR": str(tmp_path / "s2")},
                  world.endpoint, world.proxy)  # fmt: skip
    world.set_memory(576)
    other.set_memory(640)
    first, second = world.start("deploy", "--env", "local"), other.start("deploy", "--env", "local")
    codes = (first.wait(timeout=180), second.wait(timeout=180))
    outputs = (
        first.stdout.read() if first.stdout else "",
        second.stdout.read() if second.stdout else "",
    )
    assert set(codes) <= {0, 3}, "\n----\n".join(o[-3000:] for o in outputs)
    assert 0 in codes, outputs
    world.settle()
    memory = world.memory()
    winners = [m for m, c in zip((576, 640), codes, strict=True) if c == 0]
    assert memory == winners[-1] if len(winners) == 1 else memory in winners
    for output, code in zip(outputs, codes, strict=True):
        if code == 3:
            assert "Nothing was executed" in output or "Nothing was changed" in output, output
    assert world.waiting_change_sets() == []


def test_a_damaged_build_cache_never_reaches_a_template_or_the_bucket(world: World) -> None:
    cached = sorted((world.root / ".build" / "handler").glob("*.zip"))
    if not cached:  # the copy reused the checkout's cache: damage that one's copy here
        pytest.skip("no cached build in the workspace copy")
    before = {p.name: p.read_bytes() for p in (world.root / "templates").glob("*.json")}
    for zip_file in cached:
        zip_file.write_bytes(zip_file.read_bytes()[:100])  # truncated
    synth = subprocess.run(
        [sys.executable, "-m", "generator", "synth"], cwd=world.root, env=world.env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert synth.returncode == 0, synth.stderr
    assert "is damaged" in synth.stderr
    after = {p.name: p.read_bytes() for p in (world.root / "templates").glob("*.json")}
    assert after == before  # byte-identical: the rebuilt zip is the same zip
    ok(world.run("deploy", "--env", "local", through_proxy=False))
