"""Adding an environment is one file (README, "Adding an environment"): an environment copied to a
new name in another region, in a temporary copy of the workspace, is synthesized, passes `check`,
passes the template checks, and joins the rollout and every workflow. In-process, no emulator.

The tests that are about every environment read the set from ``environments/``; this one proves
that a new file keeps them green without running the whole suite over a second workspace.
"""

from __future__ import annotations

import inspect
import io
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from generator import naming, synth
from generator.cli import main
from generator.config import Environment, load_environments
from generator.contracts import template_handler
from generator.docs import ENVIRONMENTS_DOC
from generator.rollout import ci_environments, rollout
from generator.workspace import CHECKOUT
from tests import test_template
from tests.workflows.simulate import Run, simulate

REGION = "eu-west-1"
# Every committed environment CI deploys is copied in turn (the documented example is prod).
SOURCES = ci_environments(CHECKOUT / "environments")


def _copy_name(source: str) -> str:
    return f"{source[:12]}copy"  # a name no committed file has, within the 16 characters allowed


@pytest.fixture(scope="module", params=SOURCES)
def grown(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the workspace's environments and generated files, plus ``<source>copy.yaml``
    (the source's file in eu-west-1), synthesized."""
    source: str = request.param
    root = tmp_path_factory.mktemp(f"with-{_copy_name(source)}")
    shutil.copytree(CHECKOUT / "environments", root / "environments")
    shutil.copytree(CHECKOUT / "templates", root / "templates")
    (root / ENVIRONMENTS_DOC).parent.mkdir()
    shutil.copy(CHECKOUT / ENVIRONMENTS_DOC, root / ENVIRONMENTS_DOC)
    text = (root / "environments" / f"{source}.yaml").read_text(encoding="utf-8")
    before = load_environments(root / "environments")[source].region
    assert f"region: {before}\n" in text
    new = root / "environments" / f"{_copy_name(source)}.yaml"
    new.write_text(text.replace(f"region: {before}\n", f"region: {REGION}\n"), encoding="utf-8")
    # The handler build the committed templates name, so only the new environment differs.
    committed = json.loads((root / naming.template_file(source)).read_text(encoding="utf-8"))
    artifact = template_handler(committed)
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(io.StringIO()) as out:
        patch.setattr(synth, "handler_artifact", lambda _root: artifact)
        assert main(["check", "--root", str(root)]) == 1  # the new template is missing
        assert main(["synth", "--root", str(root)]) == 0
        assert main(["check", "--root", str(root)]) == 0
    wrote = sorted(line.split()[-1] for line in out.getvalue().splitlines() if "wrote" in line)
    assert wrote == ["templates/ci-access.json", naming.template_file(_copy_name(source))]
    return root


def _new_environment(root: Path) -> Environment:
    envs = load_environments(root / "environments")
    (name,) = set(envs) - set(load_environments(CHECKOUT / "environments"))
    return envs[name]


def _template_checks() -> Iterator[Callable[..., None]]:
    """tests/test_template.py's checks that take only the environment and its template."""
    for name, check in sorted(vars(test_template).items()):
        if name.startswith("test_") and callable(check) and not hasattr(check, "pytestmark"):
            parameters = set(inspect.signature(check).parameters)
            if parameters and parameters <= {"tpl", "env"}:
                yield check


def test_the_template_checks_run_over_most_of_the_template_module() -> None:
    assert len(list(_template_checks())) >= 20  # a rename in test_template.py must not empty it


@pytest.mark.parametrize("check", list(_template_checks()), ids=lambda check: check.__name__)
def test_the_template_checks_pass_for_the_new_environment(
    grown: Path, check: Callable[..., None]
) -> None:
    env = _new_environment(grown)
    given = {"tpl": test_template.render(env), "env": env}
    check(**{name: given[name] for name in inspect.signature(check).parameters})


def test_the_rollout_takes_it_in_its_wave_with_roles_the_ci_access_template_makes(
    grown: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _new_environment(grown)
    assert main(["environments", "--ci", "--json", "--root", str(grown)]) == 0
    entries = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert (entries[env.name]["region"], entries[env.name]["wave"]) == (REGION, env.deploy.wave)
    access = json.loads((grown / "templates" / "ci-access.json").read_text(encoding="utf-8"))
    roles = {
        r["Properties"]["RoleName"]
        for r in access["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
    }
    (target,) = rollout([env], ci=True)
    for arn in (
        target.plan_role_arn,
        target.plan_main_role_arn,
        target.deploy_role_arn,
        target.drift_role_arn,
        target.cloudformation_role_arn,
    ):
        assert arn.split(":role/", 1)[1] in roles, arn


def _run(grown: Path, where: Path, workflow: str, **given: Any) -> Run:
    """One simulated run of a workflow in a fresh working folder (a run leaves kept plans in
    .state, which later jobs read from the working directory, as on a runner)."""
    shutil.copytree(grown / "environments", where / "environments")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(where)
        return simulate(workflow, where, **given)


def test_every_workflow_plans_deploys_and_checks_it(grown: Path, tmp_path: Path) -> None:
    name = _new_environment(grown).name
    expected = list(ci_environments(grown / "environments"))
    assert name in expected
    deploy = _run(grown, tmp_path / "push", "deploy.yml")
    assert deploy.planned == deploy.applied == expected
    assert _run(grown, tmp_path / "pr", "pr.yml", event="pull_request").planned == expected
    assert _run(grown, tmp_path / "drift", "drift.yml", event="schedule").checked == expected
    one = _run(grown, tmp_path / "one", "deploy.yml", event="workflow_dispatch", choice=name)
    assert one.planned == one.applied == [name]
