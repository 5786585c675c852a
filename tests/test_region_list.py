"""The loader accepts the regions botocore lists, from a committed copy (never loading botocore)."""

from __future__ import annotations

import botocore.loaders

from generator import regions
from tests.region_list import COMMAND, REGIONS_MODULE, botocore_partitions, render


def test_the_committed_region_list_is_botocores() -> None:
    expected = render(botocore_partitions())
    assert REGIONS_MODULE.read_text(encoding="utf-8") == expected, (
        f"generator/regions.py differs from the installed botocore's regions; run `{COMMAND}`"
    )


def test_every_region_of_the_endpoint_data_is_accepted() -> None:
    # botocore's older endpoints.json must not know a region that partitions.json does not.
    endpoints = botocore.loaders.Loader().load_data("endpoints")
    for partition in endpoints["partitions"]:
        listed = set(regions.PARTITIONS[partition["partition"]])
        assert set(partition["regions"]) <= listed, partition["partition"]


def test_pseudo_regions_are_left_out() -> None:
    every = {r for names in regions.PARTITIONS.values() for r in names}
    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= every
    assert not [r for r in every if r.endswith("-global")]
