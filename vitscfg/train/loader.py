"""The training data of a run: datasets, the bucket sampler and the DataLoader.

Why a module: what `train.batch_size`, `num_workers` and `seed` do to the data is in one
place. Both datasets are built (and so checked) before any model exists; the sampler is
per rank under DDP; the loader has its own generator, so creating an iterator never draws
from the global RNG (a resumed run sees the same random numbers as a straight one), and
pinned memory on CUDA. Worker processes are forked by PyTorch, which sets one thread in
each: OpenMP in a forked child cannot deadlock when it never opens a parallel region.
"""

from __future__ import annotations

import random
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from vitscfg.config.schema.train import VitscfgTrain
from vitscfg.data.batch import collate
from vitscfg.data.buckets import VITS_BUCKETS
from vitscfg.data.dataset import TextAudioDataset
from vitscfg.data.sampler import BucketBatchSampler
from vitscfg.train.distributed import Dist


def _worker_init(worker_id: int) -> None:
    """DataLoader workers: one thread (small STFTs only slow down with more), their own
    numpy/python seeds, and Ctrl-C left to the main process (which saves first)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def make_data(
    config: Mapping[str, Any],
    t: VitscfgTrain,
    config_path: Path,
    dist: Dist,
    resample: bool,
    spec: dict[str, Any] | None = None,
) -> tuple[TextAudioDataset, TextAudioDataset, BucketBatchSampler, DataLoader[Any]]:
    """(train set, validation set, sampler, loader) for this rank. ``spec``: the datasets'
    ``spec_fn`` and ``spec_tag`` when the model reads other frames than the linear
    spectrogram (VITS2's mel posterior encoder)."""
    extra = spec or {}
    train_set = TextAudioDataset.from_config(
        config, "train", config_path, resample=resample, **extra
    )
    val_set = TextAudioDataset.from_config(config, "val", config_path, resample=resample, **extra)
    sampler = BucketBatchSampler(
        train_set.lengths,
        t.batch_size,
        VITS_BUCKETS.boundaries,
        rank=dist.rank,
        world_size=dist.world_size,
        seed=t.seed,
        seconds_per_frame=train_set.audio.seconds_per_frame,
    )
    workers = t.num_workers
    loader: DataLoader[Any] = DataLoader(
        train_set,
        batch_sampler=sampler,
        collate_fn=collate,
        num_workers=workers,
        pin_memory=dist.device.type == "cuda",
        persistent_workers=workers > 0,
        worker_init_fn=_worker_init if workers > 0 else None,
        generator=torch.Generator().manual_seed(t.seed),
    )
    return train_set, val_set, sampler, loader
