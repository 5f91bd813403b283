"""The vendored real configs (tests/fixtures/shared_configs) equal their source."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_CONFIGS, SHARED_SOURCE


@pytest.mark.skipif(
    not SHARED_SOURCE.is_dir(), reason="../shared/configs is not next to this clone"
)
def test_vendored_configs_equal_the_shared_ones() -> None:
    source = {p.name: p.read_bytes() for p in SHARED_SOURCE.iterdir() if p.is_file()}
    vendored = {p.name: p.read_bytes() for p in SHARED_CONFIGS.iterdir() if p.is_file()}
    assert sorted(vendored) == sorted(source), (
        "cp ../shared/configs/* tests/fixtures/shared_configs/"
    )
    assert [n for n in source if vendored[n] != source[n]] == []
