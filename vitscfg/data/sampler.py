"""Length-bucketed batch sampler for distributed training, without the reference's traps.

The reference `DistributedBucketSampler` (jaywalnut310/vits data_utils.py) silently
drops clips outside the bucket boundaries and divides by zero when the first bucket is
empty. This one:

* removes every empty bucket (so no division by zero, whichever bucket is empty);
* never drops silently: what falls outside the boundaries is counted in a
  `SkipReport` (how many utterances, how many seconds, why) for the trainer to print;
* is deterministic for a (seed, epoch) pair, and can resume in the middle of an
  epoch: `state_dict()` records the position, `load_state_dict()` restores it and
  the next iteration yields exactly the batches that were still due;
* gets rank and world size as arguments (no torch.distributed calls), and is pure
  Python (no torch import), so the estimator and tests can use it anywhere.

Padding (as the reference does it): each bucket is shuffled, then padded to a
multiple of `batch_size * world_size` by repeating its own items from the start
of the shuffled order (whole copies first when the bucket is smaller than that
multiple), so every rank gets the same number of batches (a rank that ran out
first would hang the others in the next all-reduce). Rank r takes items
r, r + world_size, ... of the padded bucket; batches are cut from that in order,
then the batches of all buckets are shuffled together. Every kept utterance
therefore appears at least once per epoch on some rank; the repeats are the
padding, at most `batch_size * world_size - 1` per bucket.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SkipGroup:
    """Utterances left out for one reason."""

    reason: str
    count: int
    seconds: float
    examples: tuple[int, ...]  # the first few indices, for the message


@dataclass(frozen=True)
class SkipReport:
    """What a dataset or sampler left out, by reason; empty when nothing was."""

    groups: tuple[SkipGroup, ...] = ()
    total_utterances: int = 0  # how many there were before skipping

    @property
    def count(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def seconds(self) -> float:
        return sum(g.seconds for g in self.groups)

    def __bool__(self) -> bool:
        return self.count > 0

    def merged(self, other: SkipReport) -> SkipReport:
        return SkipReport(
            self.groups + other.groups, max(self.total_utterances, other.total_utterances)
        )

    def lines(self) -> list[str]:
        """One human-readable line per reason, e.g. for the trainer's log."""
        out = []
        for g in self.groups:
            if g.count:
                of = f" of {self.total_utterances}" if self.total_utterances else ""
                out.append(f"skipped {g.count}{of} utterances ({g.seconds:.1f} s): {g.reason}")
        return out


class NoUsableUtterances(ValueError):
    """Every utterance was skipped: there is nothing to train on."""

    def __init__(self, report: SkipReport) -> None:
        detail = "; ".join(report.lines()) or "the dataset is empty"
        super().__init__(f"no utterance is left to train on: {detail}")
        self.report = report


_EXAMPLES = 5


def _group(reason: str, indices: list[int], lengths: Sequence[int], frame_s: float) -> SkipGroup:
    seconds = sum(lengths[i] for i in indices) * frame_s
    return SkipGroup(reason, len(indices), seconds, tuple(indices[:_EXAMPLES]))


class BucketBatchSampler:
    """Batches of dataset indices of similar length, for one rank of `world_size`.

    lengths: spectrogram frames per dataset index. boundaries: increasing frame
    counts; bucket i holds lengths in (boundaries[i], boundaries[i + 1]], as in
    `vitscfg.data.buckets`. seconds_per_frame (hop_length / sampling_rate) only
    converts the skip report to seconds. Use as `DataLoader(batch_sampler=...)`.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        boundaries: Sequence[int],
        *,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
        seed: int = 0,
        seconds_per_frame: float = 0.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
        bounds = list(boundaries)
        if len(bounds) < 2 or any(a >= b for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ValueError(f"boundaries must be at least two increasing numbers, not {bounds}")
        self.batch_size = batch_size
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        self.seed = seed
        self.boundaries = tuple(bounds)
        self.epoch = 0
        self._resume_at = 0  # batches of the current epoch already consumed
        self._yielded = 0  # batches handed out by the running iteration

        buckets: list[list[int]] = [[] for _ in range(len(bounds) - 1)]
        short: list[int] = []
        long: list[int] = []
        for index, n in enumerate(lengths):
            if n <= bounds[0]:
                short.append(index)
            elif n > bounds[-1]:
                long.append(index)
            else:
                buckets[bisect.bisect_left(bounds, n) - 1].append(index)
        # All empty buckets go, the first one included (the reference keeps it and divides
        # by its zero length).
        self.buckets: tuple[tuple[int, ...], ...] = tuple(tuple(b) for b in buckets if b)
        groups = []
        if short:
            groups.append(
                _group(
                    f"{bounds[0]} spectrogram frames or fewer (shorter than the first bucket "
                    "boundary, which keeps clips longer than the training segment)",
                    short,
                    lengths,
                    seconds_per_frame,
                )
            )
        if long:
            groups.append(
                _group(
                    f"more than {bounds[-1]} spectrogram frames (longer than the last bucket "
                    "boundary)",
                    long,
                    lengths,
                    seconds_per_frame,
                )
            )
        self.skip_report = SkipReport(tuple(groups), len(lengths))
        if not self.buckets:
            raise NoUsableUtterances(self.skip_report)
        self._total = batch_size * world_size
        self._padded = tuple(-(-len(b) // self._total) * self._total for b in self.buckets)

    # -- sizes ---------------------------------------------------------------
    @property
    def num_samples(self) -> int:
        """Items this rank sees per epoch, padding included."""
        return sum(self._padded) // self.world_size

    @property
    def batches_per_epoch(self) -> int:
        return sum(self._padded) // self._total

    def __len__(self) -> int:
        """Batches the next iteration yields: the rest of the epoch after a resume."""
        return self.batches_per_epoch - self._resume_at

    # -- epoch plan -----------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's order (and start it from its first batch)."""
        self.epoch = epoch
        self._resume_at = 0

    def epoch_batches(self, epoch: int | None = None) -> list[list[int]]:
        """All batches of an epoch for this rank, in order; a pure function of
        (lengths, boundaries, batch size, rank, world size, seed, epoch)."""
        epoch = self.epoch if epoch is None else epoch
        rng = random.Random(f"{self.seed}:{epoch}")  # str seeds hash stably (sha512)
        batches: list[list[int]] = []
        for bucket, padded in zip(self.buckets, self._padded, strict=True):
            order = list(bucket)
            if self.shuffle:
                rng.shuffle(order)
            repeats, rest = divmod(padded - len(order), len(order))
            order = order + order * repeats + order[:rest]
            mine = order[self.rank :: self.world_size]
            batches += [mine[i : i + self.batch_size] for i in range(0, len(mine), self.batch_size)]
        if self.shuffle:
            rng.shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        start, self._resume_at = self._resume_at, 0
        self._yielded = start
        for batch in self.epoch_batches()[start:]:
            self._yielded += 1
            yield batch

    # -- resume ----------------------------------------------------------------
    def state_dict(self, batches_done: int | None = None) -> dict[str, Any]:
        """Where the epoch stands. A DataLoader with workers prefetches batches ahead
        of the training loop, so the trainer should pass how many batches it has
        actually consumed this epoch; without it the sampler's own count is used
        (exact with num_workers=0)."""
        done = self._yielded if batches_done is None else batches_done
        if not 0 <= done <= self.batches_per_epoch:
            raise ValueError(f"batches_done {done} is outside [0, {self.batches_per_epoch}]")
        return {
            "epoch": self.epoch,
            "batches_done": done,
            "seed": self.seed,
            "fingerprint": self.fingerprint(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume: the next iteration yields the epoch's remaining batches. Refuses a
        state from a different dataset/batch layout, where positions mean other items."""
        if state.get("fingerprint") != self.fingerprint():
            raise ValueError(
                "sampler state does not match this dataset and batch layout (the filelist, "
                "batch size, boundaries or number of GPUs changed); start the epoch over"
            )
        done = int(state["batches_done"])
        if not 0 <= done <= self.batches_per_epoch:
            raise ValueError(f"batches_done {done} is outside [0, {self.batches_per_epoch}]")
        self.epoch = int(state["epoch"])
        self.seed = int(state["seed"])
        self._resume_at = done
        self._yielded = done

    def fingerprint(self) -> str:
        """Identifies what the positions refer to (stable across processes)."""
        h = hashlib.sha256()
        # Not the rank: every rank loads the state rank 0 saved, and all ranks have the
        # same number of batches per epoch.
        h.update(repr((self.boundaries, self.batch_size, self.world_size)).encode())
        for bucket in self.buckets:
            h.update(b"|" + ",".join(map(str, bucket)).encode())
        return h.hexdigest()[:16]
