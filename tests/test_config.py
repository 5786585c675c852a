"""The environment model and its loader: defaults, validation, and error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from generator.cli import main
from generator.config import (
    REGIONS,
    ConfigError,
    environment_files,
    load_environment,
    load_environments,
    parse_environment,
)

VALID = {"account_id": "123456789012", "region": "us-east-1"}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_equal_the_reference_stack() -> None:
    env = parse_environment("dev", VALID, "dev.yaml")
    assert env.function.memory_mb == 256
    assert env.function.timeout_seconds == 60
    assert env.function.log_retention_days == 7
    assert env.function.async_retries == 2
    assert env.storage.upload_prefix == "uploads/"
    assert env.alarms.errors_threshold == 1
    assert env.alarms.errors_period_seconds == 300
    assert env.alarms.duration_threshold_ms == 30000
    assert env.alarms.duration_evaluation_periods == 2


def test_defaults_are_safe() -> None:
    env = parse_environment("dev", VALID, "dev.yaml")
    assert env.retain_data is True
    assert env.termination_protection is True
    assert env.function.reserved_concurrency is None
    assert env.alarms.email is None
    assert env.deploy.allow_replace == ()


def test_model_is_frozen() -> None:
    env = parse_environment("dev", VALID, "dev.yaml")
    with pytest.raises(ValueError, match="frozen"):
        env.retain_data = False  # type: ignore[misc]


def test_committed_environments_load(repo_root: Path) -> None:
    folder = repo_root / "environments"
    envs = load_environments(folder)
    assert set(envs) == {path.stem for path in environment_files(folder)}
    assert envs["local"].account_id == "123456789012"
    assert envs["local"].region == "us-east-1"
    assert envs["prod"].termination_protection is True
    assert envs["prod"].retain_data is True
    assert envs["dev"].retain_data is False


def test_rejects_unknown_key_naming_file_field_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "dev", 'account_id: "123456789012"\nregion: us-east-1\nmemroy_mb: 512\n')
    with pytest.raises(ConfigError) as info:
        load_environment(path, "environments/dev.yaml")
    (problem,) = info.value.problems
    assert problem.file == "environments/dev.yaml"
    assert problem.field == "memroy_mb"
    assert problem.value == "512"
    assert problem.expected == "a known setting; did you mean function.memory_mb?"


@pytest.mark.parametrize(
    ("yaml_text", "field", "suggestion"),
    [
        ("function:\n  memroy_mb: 512\n", "function.memroy_mb", "function.memory_mb"),
        ("function:\n  timeout: 30\n", "function.timeout", "function.timeout_seconds"),
        ("deploy:\n  waves: 2\n", "deploy.waves", "deploy.wave"),
        ("alarm:\n  email: a@b.co\n", "alarm", "alarms"),
        ("Region: us-east-1\n", "Region", "region"),
    ],
)
def test_suggests_the_nearest_setting_for_a_misspelt_one(
    yaml_text: str, field: str, suggestion: str
) -> None:
    data = yaml.safe_load(yaml_text)
    with pytest.raises(ConfigError) as info:
        parse_environment("dev", {**VALID, **data}, "dev.yaml")
    (problem,) = [p for p in info.value.problems if p.field == field]
    assert problem.expected == f"a known setting; did you mean {suggestion}?"


def test_lists_the_sections_settings_when_nothing_is_close() -> None:
    with pytest.raises(ConfigError) as info:
        parse_environment("dev", {**VALID, "secret": {"xyzzy": 1}}, "dev.yaml")
    (problem,) = info.value.problems
    assert problem.field == "secret.xyzzy"
    assert problem.expected == "a known setting of secret (misspelled?), one of: rotation_days"


# A second `function:` block, as an edit that appends a section might leave: PyYAML alone would
# keep only the second, and prod would lose its reserved concurrency and log retention.
DUPLICATED = """\
account_id: "123456789012"
region: us-east-1
function:
  reserved_concurrency: 50
  log_retention_days: 365
tags:
  CostCenter: a
  CostCenter: b
function:
  memory_mb: 512
  timeout_seconds: 30
  timeout_seconds: 40
"""


def test_rejects_duplicate_keys_at_any_depth_naming_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "prod", DUPLICATED)
    with pytest.raises(ConfigError) as info:
        load_environment(path, "environments/prod.yaml")
    assert [str(p) for p in info.value.problems] == [
        "environments/prod.yaml: tags.CostCenter: got a duplicate key at line 8 (first at line 7)"
        "; expected each setting once",
        "environments/prod.yaml: function: got a duplicate key at line 9 (first at line 3)"
        "; expected each setting once",
        "environments/prod.yaml: function.timeout_seconds: got a duplicate key at line 12 (first "
        "at line 11); expected each setting once",
    ]


def test_reports_duplicate_keys_with_every_other_problem(tmp_path: Path) -> None:
    text = DUPLICATED.replace("us-east-1", "us-east-9").replace("memory_mb", "memroy_mb")
    path = write(tmp_path, "prod", text)
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    fields = [p.field for p in info.value.problems]
    assert fields == [
        "tags.CostCenter",
        "function",
        "function.timeout_seconds",
        "region",
        "function.memroy_mb",
    ]


def test_a_key_that_overrides_a_merged_one_is_not_a_duplicate(tmp_path: Path) -> None:
    text = (
        'account_id: "123456789012"\nregion: us-east-1\n'
        "function:\n  <<: {memory_mb: 512, timeout_seconds: 30}\n  memory_mb: 1024\n"
    )
    env = load_environment(write(tmp_path, "dev", text))
    assert (env.function.memory_mb, env.function.timeout_seconds) == (1024, 30)


def test_rejects_a_duplicate_key_in_a_flow_mapping(tmp_path: Path) -> None:
    text = 'account_id: "123456789012"\nregion: us-east-1\ntags: {a: x, a: y}\n'
    with pytest.raises(ConfigError, match=r"tags\.a: got a duplicate key at line 3"):
        load_environment(write(tmp_path, "dev", text))


def test_rejects_a_region_no_partition_has_listing_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        parse_environment("dev", {**VALID, "region": "us-east-9"}, "dev.yaml")
    (problem,) = info.value.problems
    assert (problem.field, problem.value) == ("region", "'us-east-9'")
    assert problem.expected.startswith("an AWS region (did you mean us-east-")
    assert problem.expected.endswith("one of: " + ", ".join(REGIONS))


@pytest.mark.parametrize("region", ["eu-west-1", "cn-north-1", "us-gov-west-1", "eusc-de-east-1"])
def test_accepts_a_region_of_any_partition(region: str) -> None:
    assert parse_environment("dev", {**VALID, "region": region}, "dev.yaml").region == region


def test_the_schema_lists_the_regions_for_editors() -> None:
    from generator.config import json_schema

    assert json_schema()["properties"]["region"]["enum"] == list(REGIONS)


def test_reports_every_problem_at_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        "dev",
        'account_id: "12345"\nregion: mars-1\nfunction:\n  memory_mb: 64\n'
        "  log_retention_days: 8\n",
    )
    write(tmp_path, "prod", "tags:\n  Owner: someone\n")
    with pytest.raises(ConfigError) as info:
        load_environments(tmp_path)
    fields = {(p.file.rsplit("/", 1)[-1], p.field) for p in info.value.problems}
    assert fields == {
        ("dev.yaml", "account_id"),
        ("dev.yaml", "region"),
        ("dev.yaml", "function.memory_mb"),
        ("dev.yaml", "function.log_retention_days"),
        ("prod.yaml", "account_id"),
        ("prod.yaml", "region"),
        ("prod.yaml", "tags"),
    }


@pytest.mark.parametrize(
    ("yaml_text", "field", "value", "expected"),
    [
        ("function:\n  memory_mb: 99999\n", "function.memory_mb", "99999", "less than or equal"),
        ("function:\n  timeout_seconds: 0\n", "function.timeout_seconds", "0", "greater than"),
        ("function:\n  async_retries: 3\n", "function.async_retries", "3", "less than or equal"),
        ("function:\n  log_retention_days: 8\n", "function.log_retention_days", "8", "one of 1"),
        ("function:\n  max_event_age_seconds: 10\n", "function.max_event_age_seconds", "10",
         "greater than or equal to 60"),
        ("alarms:\n  email: not-an-email\n", "alarms.email", "'not-an-email'", "match pattern"),
        ("storage:\n  upload_prefix: uploads\n", "storage.upload_prefix", "'uploads'",
         "match pattern"),
        ("retain_data: maybe\n", "retain_data", "'maybe'", "valid boolean"),
        ("deploy:\n  allow_replace: [Data-Bucket]\n", "deploy.allow_replace.0", "'Data-Bucket'",
         "match pattern"),
        ("tags:\n  Project: other\n", "tags", "{'Project': 'other'}", "set by the generator"),
    ],
)  # fmt: skip
def test_rejects_invalid_value_with_what_was_expected(
    tmp_path: Path, yaml_text: str, field: str, value: str, expected: str
) -> None:
    path = write(tmp_path, "dev", 'account_id: "123456789012"\nregion: us-east-1\n' + yaml_text)
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    (problem,) = info.value.problems
    assert (problem.field, problem.value) == (field, value)
    assert expected in problem.expected
    assert str(problem).startswith(f"{path}: {field}: got {value}; expected ")


def test_rejects_results_prefix_inside_upload_prefix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dev",
        'account_id: "123456789012"\nregion: us-east-1\nstorage:\n'
        "  upload_prefix: uploads/\n  results_prefix: uploads/done/\n",
    )
    with pytest.raises(ConfigError, match="trigger itself"):
        load_environment(path)


def test_rejects_invalid_yaml_with_its_position(tmp_path: Path) -> None:
    path = write(tmp_path, "dev", "account_id: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML at line 2"):
        load_environment(path)


def test_rejects_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "dev", "- a\n- b\n")
    with pytest.raises(ConfigError, match="got list; expected a mapping"):
        load_environment(path)


def test_rejects_bad_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "Dev_1", 'account_id: "123456789012"\nregion: us-east-1\n')
    with pytest.raises(ConfigError, match="file name: got 'Dev_1'"):
        load_environment(path)


def test_rejects_a_name_field_since_the_file_name_is_the_name(tmp_path: Path) -> None:
    path = write(tmp_path, "dev", 'name: prod\naccount_id: "123456789012"\nregion: us-east-1\n')
    with pytest.raises(ConfigError, match="name: got 'prod'"):
        load_environment(path)


def test_rejects_unknown_environment_name(tmp_path: Path) -> None:
    write(tmp_path, "dev", 'account_id: "123456789012"\nregion: us-east-1\n')
    with pytest.raises(ConfigError, match=r"environment: got 'qa'; expected one of \['dev'\]"):
        load_environments(tmp_path, ["qa"])


def test_cli_exits_2_listing_every_problem_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "templates").mkdir()
    write(tmp_path / "environments", "dev", "region: nowhere\n")
    code = main(["synth", "--root", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "2 problems in environment files" in err
    assert "environments/dev.yaml: account_id: got nothing; expected a value" in err
    assert "environments/dev.yaml: region: got 'nowhere'" in err
    assert list((tmp_path / "templates").iterdir()) == []


def test_cli_refuses_a_duplicated_section_in_a_copy_of_prod_and_writes_nothing(
    tmp_path: Path, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "templates").mkdir()
    prod = (repo_root / "environments" / "prod.yaml").read_text(encoding="utf-8")
    first = prod.splitlines().index("function:") + 1
    text = prod + "function:\n  memory_mb: 512\n"
    write(tmp_path / "environments", "prod", text)
    assert main(["synth", "--root", str(tmp_path)]) == 2
    second = len(text.splitlines()) - 1
    assert (
        f"environments/prod.yaml: function: got a duplicate key at line {second} (first at line "
        f"{first}); expected each setting once"
    ) in capsys.readouterr().err
    assert list((tmp_path / "templates").iterdir()) == []


def test_schema_describes_fields_and_omits_the_name() -> None:
    from generator.config import json_schema

    schema = json_schema()
    assert "name" not in schema["properties"]
    assert set(schema["required"]) == {"account_id", "region"}
    assert schema["additionalProperties"] is False
    assert "memory_mb" in schema["$defs"]["FunctionSettings"]["properties"]
