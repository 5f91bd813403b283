"""A model of PyTorch's CUDA caching allocator, replayed over a traced step's allocations.

Why: the no-GPU path knows every tensor's size and lifetime (tracker.py) but the card has
to hold what the *allocator* reserves: blocks rounded to 512 B, 2 MiB segments for small
tensors, 20 MiB segments for medium ones, large blocks not split when at most 1 MiB would
remain, and freed blocks that stay cached in segments a training loop never returns. The
estimator's prediction covers all that with one reserved/tensor-bytes factor, fitted on an
H100 (devices.CUDA_RESERVED_PER_TENSOR_BYTE); this model derives it from the step's own
allocations instead, and answers what one factor cannot: how much more a run reserves when
it mixes the loader's bucket shapes than a probe that repeats one shape.

What it showed (scripts/allocator_study.py, docs/gpu-validation.md): on ljs_base fp32 the
model's reserved bytes are within -2.7..+1.6 % of the H100's, with no fitted constant (the
factor does as well there, having been fitted on them); in fp16 with CUDA's autocast
policy traced it is -2.6..+12.9 % (high at batch 24 and 48: the fp16/fp32 mix of CUDA
autocast cuts more segments in the replay than the card shows), 2-24 % low on tiny, so
the fitted factor stays the prediction. For a batch-160 fp32 run it reproduces the real
run's reserved bytes (75.2 against 75.8 GiB measured; the probe, one shape: 71.9) and
shows the order dependence: a short bucket first leaves the cache cut for it, +6 % over
the probe.

The rules, with the constants of c10/cuda/CUDACachingAllocator.cpp (default settings: no
``max_split_size_mb``, no ``roundup_power2_divisions``, no expandable segments, one stream):

- a request is rounded up to a multiple of 512 B (``kMinBlockSize``);
- up to 1 MiB (``kSmallSize``) it is served from the small pool, whose segments are 2 MiB
  (``kSmallBuffer``); above, from the large pool, whose segments are 20 MiB
  (``kLargeBuffer``) for requests under 10 MiB (``kMinLargeAlloc``) and the request rounded
  up to 2 MiB (``kRoundLarge``) otherwise;
- the cached free block chosen is the smallest that fits (lowest address among equals);
- a block is split when the rest is at least 512 B (small pool) or more than 1 MiB (large
  pool); otherwise the whole block is handed out and counts as allocated;
- a freed block merges with free neighbours of its segment; segments are kept (reserved)
  until ``empty_cache``, which a training loop never calls.

What it cannot see: cuDNN/cuBLAS workspaces, kernels' internal buffers, and the release of
cached segments and retry that the allocator performs before it reports out of memory (so
near the card's capacity a real run reserves less than this model says: the safe side).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MIN_BLOCK = 512
SMALL_SIZE = 1 << 20
SMALL_BUFFER = 2 << 20
LARGE_BUFFER = 20 << 20
MIN_LARGE_ALLOC = 10 << 20
ROUND_LARGE = 2 << 20

#: One event of an allocation trace: (key, nbytes) allocates, (key, -1) frees.
Event = tuple[int, int]


def round_size(nbytes: int) -> int:
    """The allocator's block size for a request (``round_size``)."""
    return MIN_BLOCK if nbytes < MIN_BLOCK else -(-nbytes // MIN_BLOCK) * MIN_BLOCK


def segment_size(size: int) -> int:
    """Bytes reserved from the driver when no cached block fits (``get_allocation_size``)."""
    if size <= SMALL_SIZE:
        return SMALL_BUFFER
    if size < MIN_LARGE_ALLOC:
        return LARGE_BUFFER
    return -(-size // ROUND_LARGE) * ROUND_LARGE


@dataclass
class _Block:
    addr: int
    size: int
    small: bool
    free: bool = True
    prev: _Block | None = None
    next: _Block | None = None


class CachingAllocatorModel:
    """Reserved and allocated bytes of the CUDA caching allocator for a sequence of
    malloc/free calls. Addresses are virtual (each segment gets a fresh range), only the
    arithmetic matters."""

    def __init__(self) -> None:
        # Free blocks per pool, sorted by (size, addr): the allocator's best-fit order.
        self._pools: dict[bool, list[tuple[int, int]]] = {True: [], False: []}
        self._free_at: dict[int, _Block] = {}
        self._next_addr = 0
        self.reserved = 0
        self.allocated = 0
        self.peak_reserved = 0
        self.peak_allocated = 0
        self.segments = 0

    def _insert(self, block: _Block) -> None:
        block.free = True
        bisect.insort(self._pools[block.small], (block.size, block.addr))
        self._free_at[block.addr] = block

    def _remove(self, block: _Block) -> None:
        pool = self._pools[block.small]
        i = bisect.bisect_left(pool, (block.size, block.addr))
        del pool[i]
        del self._free_at[block.addr]
        block.free = False

    def malloc(self, nbytes: int) -> _Block:
        size = round_size(nbytes)
        small = size <= SMALL_SIZE
        pool = self._pools[small]
        i = bisect.bisect_left(pool, (size, -1))
        if i < len(pool):
            block = self._free_at[pool[i][1]]
            self._remove(block)
        else:
            seg = segment_size(size)
            block = _Block(self._next_addr, seg, small, free=False)
            self._next_addr += seg
            self.reserved += seg
            self.segments += 1
            self.peak_reserved = max(self.peak_reserved, self.reserved)
        rest = block.size - size
        if (small and rest >= MIN_BLOCK) or (not small and rest > SMALL_SIZE):
            tail = _Block(block.addr + size, rest, small, prev=block, next=block.next)
            if block.next is not None:
                block.next.prev = tail
            block.next = tail
            block.size = size
            self._insert(tail)
        self.allocated += block.size
        self.peak_allocated = max(self.peak_allocated, self.allocated)
        return block

    def free(self, block: _Block) -> None:
        self.allocated -= block.size
        for other in (block.prev, block.next):
            if other is not None and other.free:
                self._remove(other)
                if other is block.prev:
                    block.addr, block.size, block.prev = (
                        other.addr,
                        other.size + block.size,
                        other.prev,
                    )
                    if other.prev is not None:
                        other.prev.next = block
                else:
                    block.size += other.size
                    block.next = other.next
                    if other.next is not None:
                        other.next.prev = block
        self._insert(block)


@dataclass(frozen=True)
class StepTrace:
    """One traced training step, ready to replay: the sizes of the tensors that outlive
    steps (parameters, buffers, then per parameter its gradient and AdamW moments: the
    order the trainer and the probe create them), and the step's events. In ``events``
    uids below ``len(state)`` name those long-lived tensors by their index (a role: the
    gradient that ``zero_grad`` frees is the same role in every step); other uids are the
    step's own tensors, the batch first (allocated at the start, freed at the end, as the
    loader's batch is)."""

    state: tuple[int, ...]
    events: tuple[Event, ...]


def replay(events: Iterable[Event]) -> CachingAllocatorModel:
    """Run an allocation trace through the allocator model. Frees of uids it never saw
    allocated are ignored; zero-byte tensors allocate nothing, as on CUDA."""
    alloc = CachingAllocatorModel()
    live: dict[int, _Block] = {}
    for uid, nbytes in events:
        if nbytes < 0:
            block = live.pop(uid, None)
            if block is not None:
                alloc.free(block)
        elif nbytes > 0:
            live[uid] = alloc.malloc(nbytes)
    return alloc


def replay_steps(steps: Sequence[StepTrace]) -> CachingAllocatorModel:
    """The allocator after the long-lived state is built and ``steps`` run in order.

    A traced step frees some long-lived tensors and leaves new ones of the same sizes
    (``zero_grad(set_to_none=True)`` then backward: the gradients). Each survivor takes over
    a freed role of its size, so the next step's free of that role frees the survivor: one
    traced step replays as many times as needed, and steps traced at different shapes
    (the loader's buckets) chain as in a real run. ``steps[0].state`` builds the state;
    every step must have been traced from the same config.
    """
    alloc = CachingAllocatorModel()
    if not steps:
        return alloc
    state = steps[0].state
    n = len(state)
    live: dict[object, _Block] = {}
    role: list[object] = list(range(n))  # role index -> key of the block holding it
    for i, nbytes in enumerate(state):
        if nbytes > 0:
            live[i] = alloc.malloc(nbytes)
    for k, step in enumerate(steps):
        freed: dict[int, list[int]] = {}  # size -> roles freed in this step, in order
        made: dict[int, tuple[int, int]] = {}  # step uid -> (size, order) while alive
        for order, (uid, nbytes) in enumerate(step.events):
            if uid < n:  # a long-lived role
                if nbytes < 0:
                    block = live.pop(role[uid], None)
                    if block is not None:
                        alloc.free(block)
                    freed.setdefault(state[uid], []).append(uid)
                continue
            key = (k, uid)
            if nbytes < 0:
                block = live.pop(key, None)
                made.pop(uid, None)
                if block is not None:
                    alloc.free(block)
            else:
                if nbytes > 0:
                    live[key] = alloc.malloc(nbytes)
                made[uid] = (nbytes, order)
        for uid, (nbytes, _) in sorted(made.items(), key=lambda kv: kv[1][1]):
            roles = freed.get(nbytes)
            if roles:
                role[roles.pop(0)] = (k, uid)
    return alloc
