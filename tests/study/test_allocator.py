"""The CUDA caching allocator model: known answers from the allocator's rules, invariants
over random malloc/free sequences, and step replays (role hand-over between steps)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scripts.study.allocator import (
    LARGE_BUFFER,
    SMALL_BUFFER,
    CachingAllocatorModel,
    StepTrace,
    replay,
    replay_steps,
    round_size,
    segment_size,
)

MiB = 1 << 20


def test_round_size_and_segment_sizes() -> None:
    assert round_size(1) == 512 and round_size(512) == 512 and round_size(513) == 1024
    assert segment_size(512) == SMALL_BUFFER  # small pool: 2 MiB segments
    assert segment_size(MiB) == SMALL_BUFFER
    assert segment_size(MiB + 512) == LARGE_BUFFER  # 1-10 MiB: 20 MiB segments
    assert segment_size(10 * MiB) == 10 * MiB  # from 10 MiB: rounded up to 2 MiB
    assert segment_size(11 * MiB) == 12 * MiB


def test_small_requests_share_a_2mib_segment() -> None:
    a = CachingAllocatorModel()
    a.malloc(100)
    a.malloc(MiB - 512)
    assert (a.reserved, a.allocated, a.segments) == (SMALL_BUFFER, MiB, 1)
    a.malloc(MiB)  # exactly the 1 MiB left in the segment
    assert (a.reserved, a.segments) == (SMALL_BUFFER, 1)
    a.malloc(1)  # the segment is full
    assert (a.reserved, a.segments) == (2 * SMALL_BUFFER, 2)


def test_large_block_is_not_split_when_at_most_1mib_would_remain() -> None:
    a = CachingAllocatorModel()
    a.malloc(11 * MiB)  # 12 MiB segment, 1 MiB rest: handed out whole
    assert (a.reserved, a.allocated) == (12 * MiB, 12 * MiB)
    b = CachingAllocatorModel()
    b.malloc(12 * MiB + 1)  # 14 MiB segment, ~2 MiB rest: split, the rest stays cached
    assert b.reserved == 14 * MiB and b.allocated == 12 * MiB + 512
    b.malloc(MiB + 512)  # served from the cached rest
    assert b.segments == 1


def test_freed_neighbours_merge_and_best_fit_picks_the_smallest() -> None:
    a = CachingAllocatorModel()
    x, y = a.malloc(8 * MiB), a.malloc(8 * MiB)  # one 20 MiB segment
    a.free(x)
    a.free(y)
    a.malloc(19 * MiB)  # fits only if x, y and the tail merged back into 20 MiB
    assert a.segments == 1

    b2 = CachingAllocatorModel()
    p, q = b2.malloc(16 * MiB), b2.malloc(30 * MiB)
    b2.free(p)
    b2.free(q)
    got = b2.malloc(15 * MiB)
    # From the 16 MiB block (not the 30 MiB one), whole: only 1 MiB would remain.
    assert (got.addr, got.size, b2.segments) == (p.addr, 16 * MiB, 2)


def test_replay_ignores_unknown_frees_and_zero_sizes() -> None:
    a = replay([(0, 1000), (1, 0), (7, -1), (0, -1), (1, -1)])
    assert a.allocated == 0 and a.peak_allocated == 1024 and a.reserved == SMALL_BUFFER


sizes = st.integers(min_value=1, max_value=40 * MiB)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), sizes, st.integers(0, 10**6)), max_size=120))
def test_invariants_over_random_sequences(ops: list[tuple[bool, int, int]]) -> None:
    """allocated = the live blocks, reserved = the segments, and once everything is freed
    every segment is one free block again (merging loses nothing)."""
    a = CachingAllocatorModel()
    live = []
    for is_free, nbytes, pick in ops:
        if is_free and live:
            a.free(live.pop(pick % len(live)))
        else:
            block = a.malloc(nbytes)
            assert block.size >= round_size(nbytes)
            live.append(block)
        assert a.allocated == sum(b.size for b in live)
        assert a.reserved >= a.allocated
        assert a.peak_reserved >= a.peak_allocated
    for block in live:
        a.free(block)
    assert a.allocated == 0
    free_blocks = sum(len(pool) for pool in a._pools.values())
    assert free_blocks == a.segments
    assert sum(size for pool in a._pools.values() for size, _ in pool) == a.reserved


def _grad_step(state: tuple[int, ...], activation: int) -> StepTrace:
    """A step shaped like training: zero_grad frees the gradients (roles 1, 3), an
    activation lives through backward, new gradients are made, the activation dies."""
    n = len(state)
    return StepTrace(
        state,
        (
            (n, 4096),  # the batch
            (1, -1),
            (3, -1),
            (n + 1, activation),
            (n + 2, state[1]),
            (n + 3, state[3]),
            (n + 1, -1),
            (n, -1),
        ),
    )


def test_replay_steps_hands_roles_over_so_memory_is_steady() -> None:
    state = (30 * MiB, 30 * MiB, 3 * MiB, 3 * MiB)
    step = _grad_step(state, 50 * MiB)
    one, three = replay_steps([step]), replay_steps([step, step, step])
    assert three.allocated == one.allocated  # gradients replaced, nothing leaked
    assert three.peak_reserved == one.peak_reserved


def test_replay_steps_mixed_shapes_keep_the_cache_of_each() -> None:
    """A larger activation after a smaller one cannot reuse its cached block: the reserved
    peak of a mixed sequence is above either shape alone (the +5 % a real run showed over
    a one-shape probe)."""
    state = (30 * MiB, 30 * MiB, 3 * MiB, 3 * MiB)
    small, large = _grad_step(state, 40 * MiB), _grad_step(state, 50 * MiB)
    alone = replay_steps([large, large]).peak_reserved
    mixed = replay_steps([small, large, small, large]).peak_reserved
    assert mixed > alone


def test_one_traced_step_replays_like_consecutive_real_steps() -> None:
    """The estimator traces one step and replays it twice; ground truth here is three real
    CPU steps of examples/tiny recorded in one go (the batch stays allocated throughout,
    the gradients are re-made each step): same reserved bytes within 1 % or one 2 MiB
    small-pool segment, whichever is larger. At this size (~147 MB) one segment is 1.4 %,
    and whether a segment is split or a new one opened flips with the order in which a
    module frees its temporaries (a refactor of the decoder's resblock mean moved it by
    exactly one segment), so a pure percentage would test that order, not the model."""
    import json
    from pathlib import Path

    import pytest

    torch = pytest.importorskip("torch")
    from scripts.study.allocation_trace import allocated_steps_here
    from vitscfg.estimate.trace import (
        StepConfig,
        StepPoint,
        _batch_tensors,
        make_batch,
        state_tensors,
        steady_parts,
    )
    from vitscfg.estimate.tracker import StorageTracker
    from vitscfg.train.step import train_step

    root = Path(__file__).resolve().parents[2]
    config = json.loads((root / "examples" / "tiny" / "config.json").read_text("utf-8"))
    point = StepPoint(2, 1024, 31, 96)
    step = StepConfig.of(config)
    (traced,) = allocated_steps_here(step, "fp32", [point], "cuda", fake=True)
    assert traced.reserved_bytes > traced.peak_bytes

    torch.manual_seed(0)
    parts = steady_parts(step.with_segment(1024), "fp32", torch.device("cpu"), True)
    batch = make_batch(parts.step.hp, point)
    events: list[tuple[int, int]] = []
    tracker = StorageTracker(1, events)
    tracker.track(state_tensors(parts))
    tracker.track(_batch_tensors(batch))
    for _ in range(3):
        with tracker:
            result = train_step(parts.step, batch)
        del result
    truth = replay(events)
    model = replay_steps([traced.trace] * 3)
    segment = 2 * 1024 * 1024
    tolerance = max(0.01 * truth.peak_reserved, segment)
    assert abs(model.peak_reserved - truth.peak_reserved) <= tolerance
    assert model.allocated == pytest.approx(truth.allocated, rel=0.01)


def test_model_against_h100_reserved_bytes() -> None:
    """The model replayed over meta traces of ljs_base fp32, against what an H100 reserved
    at the same points (tests/fixtures/h100_reserved.json): within 5 % (measured: -2.7 to
    +1.6 %), with no fitted constant. autocast points are not checked here: the model is
    up to 8 % low there (docs/gpu-validation.md), and their fake traces take minutes."""
    import json
    from pathlib import Path

    import pytest

    pytest.importorskip("torch")
    from scripts.study.allocation_trace import allocated_steps
    from vitscfg.estimate.children import fork_available
    from vitscfg.estimate.trace import StepPoint

    if not fork_available():
        pytest.skip("meta traces run in a forked child")
    root = Path(__file__).resolve().parents[2]
    fixture = json.loads((root / "tests/fixtures/h100_reserved.json").read_text("utf-8"))
    rows = [r for r in fixture["points"] if r["precision"] == "fp32"]
    config = json.loads((root / "examples/ljs_base.json").read_text("utf-8"))
    points = [
        StepPoint(r["batch_size"], r["segment_size"], r["text_len"], r["spec_frames"]) for r in rows
    ]
    traced = allocated_steps(config, "fp32", points, "cuda")
    for row, t in zip(rows, traced, strict=True):
        model = t.reserved_bytes / (1 << 30)
        assert abs(model / row["reserved"] - 1) <= 0.05, (row, model)
        assert t.reserved_bytes > t.peak_bytes  # the allocator never holds less
