"""The metadata contract: what the stack writes is what the deploy, gates and rules read."""

from __future__ import annotations

import json

from generator import naming
from generator.config import load_environments
from generator.contracts import (
    ArtifactRef,
    ResourceMetadata,
    template_handler,
    template_region,
    template_retains_data,
)
from generator.render import to_json
from generator.stack import build_template
from generator.workspace import CHECKOUT

SHA = "ab" * 32
ARTIFACT = ArtifactRef(key=naming.artifact_key(SHA), sha256=SHA)


def _rendered(env_name: str) -> dict[str, object]:
    env = load_environments(CHECKOUT / naming.ENVIRONMENTS_DIR, [env_name], CHECKOUT)[env_name]
    parsed: dict[str, object] = json.loads(to_json(build_template(env, ARTIFACT).to_dict()))
    return parsed


def test_template_metadata_round_trips_through_the_rendered_template() -> None:
    template = _rendered("prod")
    assert template_handler(template) == ARTIFACT
    assert template_region(template) == "us-west-2"  # environments/prod.yaml
    assert template_retains_data(template) is True


def test_resource_metadata_round_trips_through_the_rendered_template() -> None:
    resources = _rendered("dev")["Resources"]
    assert isinstance(resources, dict)
    parsed = {lid: ResourceMetadata.of(r) for lid, r in resources.items()}
    assert parsed[naming.LogicalId.SECRET].drift_not_checked
    assert any(m.rollback_trigger for m in parsed.values())


def test_resource_metadata_writes_only_what_is_set() -> None:
    assert ResourceMetadata().to_metadata() == {"ServerlessApp": {}}
    written = ResourceMetadata(rollback_trigger=True, drift_not_checked="why").to_metadata()
    assert ResourceMetadata.of({"Metadata": written}) == ResourceMetadata(True, "why")


def test_absent_or_malformed_metadata_reads_as_the_defaults() -> None:
    for holder in ({}, {"Metadata": None}, {"Metadata": {"ServerlessApp": "x"}}, "text"):
        assert ResourceMetadata.of(holder) == ResourceMetadata()
        assert template_handler(holder) is None
        assert template_region(holder) is None
        assert template_retains_data(holder) is False


def test_retain_data_accepts_the_yaml_string_form() -> None:
    assert template_retains_data({"Metadata": {"ServerlessApp": {"retainData": "True"}}})
