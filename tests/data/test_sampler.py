"""BucketBatchSampler: no silent loss, no division by zero, deterministic, exact resume."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitscfg.data.buckets import VITS_BUCKETS
from vitscfg.data.sampler import BucketBatchSampler, NoUsableUtterances

BOUNDS = VITS_BUCKETS.boundaries


def _all_ranks(lengths, batch_size, world_size, boundaries=BOUNDS, epoch=0, seed=0):
    samplers = [
        BucketBatchSampler(
            lengths, batch_size, boundaries, rank=r, world_size=world_size, seed=seed
        )
        for r in range(world_size)
    ]
    for s in samplers:
        s.set_epoch(epoch)
    return samplers, [list(s) for s in samplers]


def _kept(lengths, boundaries=BOUNDS):
    return {i for i, n in enumerate(lengths) if boundaries[0] < n <= boundaries[-1]}


def test_every_kept_utterance_appears_and_padding_is_bounded():
    lengths = [40, 50, 310, 320, 330, 999, 1000, 45, 46, 47, 48]
    samplers, per_rank = _all_ranks(lengths, batch_size=2, world_size=2)
    seen = Counter(i for batches in per_rank for b in batches for i in b)
    assert set(seen) == _kept(lengths)
    extra = sum(seen.values()) - len(seen)
    assert extra == sum(samplers[0]._padded) - len(seen)
    assert extra < 2 * 2 * len(samplers[0].buckets)
    # Every batch is full and every rank has the same number of batches.
    assert {len(b) for batches in per_rank for b in batches} == {2}
    assert len({len(batches) for batches in per_rank}) == 1


def test_exactly_once_without_padding():
    lengths = [40 + i for i in range(8)] + [350 + i for i in range(4)]
    (sampler,), (batches,) = _all_ranks(lengths, batch_size=4, world_size=1)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(12))
    assert len(sampler) == 3


def test_empty_first_bucket_does_not_divide_by_zero():
    # The reference ZeroDivisionError case: nothing in (32, 300].
    lengths = [450, 460, 470, 900]
    (sampler,), (batches,) = _all_ranks(lengths, batch_size=4, world_size=1)
    assert {i for b in batches for i in b} == {0, 1, 2, 3}
    assert all(len(b) == 4 for b in batches)


def test_skip_report_counts_seconds_and_reasons():
    lengths = [10, 32, 33, 1000, 1001, 5000]
    s = BucketBatchSampler(lengths, 2, BOUNDS, seconds_per_frame=0.01)
    report = s.skip_report
    assert report.count == 4 and report.total_utterances == 6
    short, long = report.groups
    assert short.count == 2 and short.examples == (0, 1)
    assert short.seconds == pytest.approx(0.42)
    assert long.count == 2 and long.seconds == pytest.approx(60.01)
    assert "first bucket" in report.lines()[0] and "of 6" in report.lines()[0]


def test_nothing_usable_is_a_clear_error():
    with pytest.raises(NoUsableUtterances, match="no utterance is left"):
        BucketBatchSampler([5, 6, 2000], 2, BOUNDS)
    with pytest.raises(NoUsableUtterances, match="empty"):
        BucketBatchSampler([], 2, BOUNDS)


def test_bad_arguments():
    with pytest.raises(ValueError):
        BucketBatchSampler([40], 0, BOUNDS)
    with pytest.raises(ValueError):
        BucketBatchSampler([40], 1, BOUNDS, rank=2, world_size=2)
    with pytest.raises(ValueError):
        BucketBatchSampler([40], 1, (32,))


def test_deterministic_per_epoch_and_seed():
    lengths = [33 + (i * 37) % 900 for i in range(100)]
    a = BucketBatchSampler(lengths, 4, BOUNDS, seed=7)
    b = BucketBatchSampler(lengths, 4, BOUNDS, seed=7)
    assert a.epoch_batches(3) == b.epoch_batches(3)
    assert a.epoch_batches(3) != a.epoch_batches(4)
    assert a.epoch_batches(3) != BucketBatchSampler(lengths, 4, BOUNDS, seed=8).epoch_batches(3)
    a.set_epoch(5)
    assert list(a) == b.epoch_batches(5) == list(a)  # iterating twice repeats the epoch


def test_no_shuffle_keeps_order():
    s = BucketBatchSampler([40, 41, 42, 43], 2, BOUNDS, shuffle=False)
    assert list(s) == [[0, 1], [2, 3]]


def test_resume_mid_epoch_gives_the_remaining_batches():
    lengths = [33 + (i * 53) % 960 for i in range(60)]
    first = BucketBatchSampler(lengths, 3, BOUNDS, seed=1)
    first.set_epoch(2)
    full = first.epoch_batches()
    it = iter(first)
    consumed = [next(it) for _ in range(4)]
    state = first.state_dict()
    assert state["batches_done"] == 4 and state["epoch"] == 2

    resumed = BucketBatchSampler(lengths, 3, BOUNDS, seed=1)
    resumed.load_state_dict(state)
    assert len(resumed) == len(full) - 4
    assert consumed + list(resumed) == full
    # The next pass of the same epoch starts from the beginning again.
    assert list(resumed) == full
    resumed.set_epoch(3)
    assert len(resumed) == resumed.batches_per_epoch


def test_resume_with_explicit_position_and_other_rank():
    lengths = [40 + i * 9 for i in range(50)]
    s0 = BucketBatchSampler(lengths, 2, BOUNDS, rank=0, world_size=2)
    s1 = BucketBatchSampler(lengths, 2, BOUNDS, rank=1, world_size=2)
    state = s0.state_dict(batches_done=3)  # what the training loop consumed
    s1.load_state_dict(state)  # every rank loads rank 0's state
    assert list(s1) == s1.epoch_batches()[3:]


def test_resume_refuses_a_different_layout():
    s = BucketBatchSampler([40, 50, 60, 70], 2, BOUNDS)
    state = s.state_dict()
    with pytest.raises(ValueError, match="does not match"):
        BucketBatchSampler([40, 50, 60, 70], 4, BOUNDS).load_state_dict(state)
    with pytest.raises(ValueError, match="outside"):
        s.state_dict(batches_done=99)


@settings(max_examples=150, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 1200), max_size=120),
    batch_size=st.integers(1, 9),
    world_size=st.integers(1, 4),
    epoch=st.integers(0, 5),
    cut=st.integers(0, 10_000),
)
def test_properties(lengths, batch_size, world_size, epoch, cut):
    kept = _kept(lengths)
    if not kept:
        with pytest.raises(NoUsableUtterances):
            BucketBatchSampler(lengths, batch_size, BOUNDS)
        return
    samplers, per_rank = _all_ranks(lengths, batch_size, world_size, epoch=epoch)
    s0 = samplers[0]
    # Nothing lost, nothing invented; skipped ones are all accounted for.
    seen = Counter(i for batches in per_rank for b in batches for i in b)
    assert set(seen) == kept
    assert s0.skip_report.count == len(lengths) - len(kept)
    # Same batch count on every rank, full batches, padding below one global batch per bucket.
    assert all(len(batches) == s0.batches_per_epoch for batches in per_rank)
    assert all(len(b) == batch_size for batches in per_rank for b in batches)
    assert sum(seen.values()) - len(kept) < batch_size * world_size * len(s0.buckets)
    # Batches only mix items of one bucket.
    for batches in per_rank:
        for b in batches:
            assert len({bisect_bucket(lengths[i]) for i in b}) == 1
    # Resume at any position reproduces the tail.
    done = cut % (s0.batches_per_epoch + 1)
    fresh = BucketBatchSampler(lengths, batch_size, BOUNDS, rank=0, world_size=world_size)
    fresh.load_state_dict(s0.state_dict(batches_done=done))
    assert list(fresh) == per_rank[0][done:]


def bisect_bucket(n: int) -> int:
    return next(i for i in range(len(BOUNDS) - 1) if BOUNDS[i] < n <= BOUNDS[i + 1])
