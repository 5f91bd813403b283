"""Pure logic: fits, classification, recommendation (no torch)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitscfg.estimate.devices import CARDS, DeviceError, GiB, assumed_device, parse_size
from vitscfg.estimate.fit import BilinearFit, Sample, fit_bilinear
from vitscfg.estimate.grid import (
    build_grid,
    classify,
    default_batch_sizes,
    default_segment_sizes,
    max_batch_by_search,
    recommend,
)

coef = st.floats(min_value=1e3, max_value=1e9, allow_nan=False)


@given(c0=coef, a=st.floats(min_value=0, max_value=1e5), b=coef)
def test_fit_recovers_bilinear_coefficients(c0: float, a: float, b: float) -> None:
    samples = [
        Sample(bs, s, int(round(c0 + bs * (a * s + b))))
        for bs, s in ((1, 4096), (8, 4096), (8, 8192), (3, 8192))
    ]
    fit = fit_bilinear(samples)
    for bs, s in ((16, 4096), (32, 16384)):
        want = c0 + bs * (a * s + b)
        assert fit.predict(bs, s) == pytest.approx(want, rel=1e-6, abs=64)
    assert fit.max_rel_residual < 1e-6


@given(peak=st.integers(0, 100 * GiB), cap=st.integers(GiB, 80 * GiB), m=st.floats(0, 0.5))
def test_classify_bands(peak: int, cap: int, m: float) -> None:
    status = classify(peak, cap, m)
    if peak <= cap * (1 - m):
        assert status == "fits"
    elif peak <= cap:
        assert status == "tight"
    else:
        assert status == "oom"


@given(
    c0=st.floats(0.5 * GiB, 4 * GiB),
    slope=st.floats(0.01 * GiB, 2 * GiB),
    cap=st.integers(2 * GiB, 80 * GiB),
    m=st.floats(0, 0.3),
)
def test_recommendation_is_the_largest_batch_under_budget(
    c0: float, slope: float, cap: int, m: float
) -> None:
    fit = BilinearFit(c0, 0.0, slope, 0.0)

    def predict(b: int, s: int, p: str) -> int:
        return fit.predict(b, s)

    def max_batch(s: int, p: str) -> int:
        return fit.max_batch(s, cap * (1 - m))

    rec = recommend(max_batch, predict, 8192, [4096, 8192], ["fp32"], cap, m)
    if predict(1, 8192, "fp32") > cap * (1 - m):
        assert rec is None
        return
    assert rec is not None
    assert rec.peak_bytes <= cap * (1 - m)
    assert predict(rec.batch_size + 1, 8192, "fp32") > cap * (1 - m)
    assert max_batch_by_search(lambda b: predict(b, 8192, "fp32"), cap * (1 - m)) == min(
        rec.batch_size, 4096
    )
    assert "margin" in rec.reason


def test_recommendation_falls_back_to_a_smaller_segment() -> None:
    def predict(b: int, s: int, p: str) -> int:
        return GiB + b * s * 100_000

    def max_batch(s: int, p: str) -> int:
        return max(0, int((10 * GiB - GiB) // (s * 100_000)))

    rec = recommend(max_batch, predict, 200_000, [8192, 200_000], ["fp32"], 10 * GiB, 0.0)
    assert rec is not None and rec.segment_size == 8192 and "no batch fits" in rec.reason


def test_grid_cells_and_defaults() -> None:
    assert default_batch_sizes(16) == [4, 8, 16, 32, 64]
    assert default_batch_sizes(1) == [1, 2, 4]
    assert default_segment_sizes(8192, 256) == [4096, 8192, 16384]
    cells = build_grid([1, 2], [4096], ["fp16"], lambda b, s, p: b * GiB, 2 * GiB, 0.07)
    assert [(c.batch_size, c.status) for c in cells] == [(1, "fits"), (2, "tight")]


def test_sizes_and_cards() -> None:
    assert parse_size("24GiB") == 24 * GiB
    assert parse_size("24 GB") == 24 * GiB
    assert parse_size("16000MiB") == 16000 << 20
    assert parse_size("T4") is None
    assert assumed_device("t4").name == "T4"
    assert assumed_device("A100-80GB").total_bytes == int(CARDS["A100-80GB"] * 0.98)
    with pytest.raises(DeviceError):
        assumed_device("GTX 9999")


def test_recommendation_beyond_the_measured_batches_is_flagged_and_capped() -> None:
    fit = BilinearFit(GiB, 0.0, 0.05 * GiB, 0.0)

    def predict(b: int, s: int, p: str) -> int:
        return fit.predict(b, s)

    def max_batch(s: int, p: str) -> int:
        return fit.max_batch(s, 24 * GiB)

    free = max_batch(8192, "fp32")  # 460: far beyond a grid of 1-4
    rec = recommend(max_batch, predict, 8192, [8192], ["fp32"], 24 * GiB, 0.0)
    assert rec is not None and rec.batch_size == free and not rec.extrapolated
    rec = recommend(
        max_batch, predict, 8192, [8192], ["fp32"], 24 * GiB, 0.0, largest_measured=4, cap=8
    )
    assert rec is not None and rec.batch_size == 8 and rec.extrapolated
    assert "extrapolated beyond the largest measured batch 4" in rec.reason
    assert f"capped at 8 (the fit alone allows {free}" in rec.reason
    rec = recommend(
        max_batch, predict, 8192, [8192], ["fp32"], 24 * GiB, 0.0, largest_measured=1024
    )
    assert rec is not None and rec.batch_size == free and not rec.extrapolated
    assert "extrapolated" not in rec.reason
