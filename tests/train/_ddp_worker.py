"""One DDP rank for tests/train/test_distributed.py (not collected by pytest).

    python -m torch.distributed.run --nproc_per_node 2 --master_port PORT \
        tests/train/_ddp_worker.py OUT_DIR [STEPS [NAN_RANK]]

Every rank builds the tiny VITS G and D from its own seed (DDP must broadcast rank 0's
weights), runs STEPS ``train_step``s on data that differs per rank (DDP must average the
gradients), and writes OUT_DIR/rank<r>.json: a sha256 of all parameters before and after,
and its losses. Identical "after" digests with different losses prove the all-reduce.
With NAN_RANK, that rank's second batch has a NaN spectrogram and every step runs with
the NaN guard: all ranks must skip that step together (the guard's decision is
all-reduced) and go on in lockstep instead of pairing one rank's D all-reduce with another's G all-reduce.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import torch
from torch.amp.grad_scaler import GradScaler

from tests.model.conftest import TINY_CONFIG
from tests.train._trainkit import write_rank_report
from vitscfg.model import build_models
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.mel import spectrogram
from vitscfg.train import distributed
from vitscfg.train.step import Batch, StepState, make_optimizers, train_step


def synthetic_batch(hp: ModelHParams, generator: torch.Generator) -> Batch:
    """Two random utterances; the spectrogram is computed from the audio as the loader does."""
    text_lengths = torch.tensor([12, 7])
    text = torch.randint(1, hp.n_vocab, (2, 12), generator=generator)
    text = text * (torch.arange(12) < text_lengths[:, None])
    spec_lengths = torch.tensor([40, 27])
    audio = (torch.rand(2, 40 * hp.hop_length, generator=generator) * 2 - 1) * 0.5
    audio = audio * (torch.arange(audio.size(1)) < spec_lengths[:, None] * hp.hop_length)
    spec = spectrogram(audio, hp.filter_length, hp.hop_length, hp.win_length)
    wav_lengths = spec_lengths * hp.hop_length
    return Batch(text, text_lengths, spec, spec_lengths, audio.unsqueeze(1), wav_lengths)


def digest(*modules: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for module in modules:
        for name, param in distributed.unwrap(module).named_parameters():
            h.update(name.encode())
            h.update(param.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main(out_dir: Path, steps: int, nan_rank: int | None = None) -> None:
    torch.set_num_threads(1)  # two ranks on a two-core machine
    dist = distributed.setup(use_gpu=False, timeout_s=120)
    try:
        torch.manual_seed(100 + dist.rank)  # different init per rank: DDP must broadcast
        bare_g, bare_d = build_models(TINY_CONFIG)  # the model tests' tiny widths
        hp = bare_g.hp
        net_g, net_d = distributed.wrap(bare_g, dist), distributed.wrap(bare_d, dist)
        before = digest(net_g, net_d)
        optim_g, optim_d = make_optimizers(net_g, net_d, 2e-4, (0.8, 0.99), 1e-9)
        state = StepState(
            net_g, net_d, optim_g, optim_d, GradScaler("cpu", enabled=False), hp, 45, 1.0
        )
        data = torch.Generator().manual_seed(7 + dist.rank)  # different data per rank
        losses, skipped = [], []
        for index in range(steps):
            batch = synthetic_batch(hp, data)
            if dist.rank == nan_rank and index == 1:
                batch.spec[0] = float("nan")
            result = train_step(state, batch, guard=nan_rank is not None)
            skipped.append(result.skipped)
            losses.append(float(result.losses["d/total"]))
        mean_loss = distributed.reduce_mean(torch.tensor(losses[-1]), dist)
        distributed.barrier(dist)
        after = digest(net_g, net_d)
        write_rank_report(out_dir, dist, before, after, losses, skipped, mean_loss=float(mean_loss))
    finally:
        distributed.cleanup(dist)


if __name__ == "__main__":
    main(
        Path(sys.argv[1]),
        int(sys.argv[2]) if len(sys.argv) > 2 else 2,
        int(sys.argv[3]) if len(sys.argv) > 3 else None,
    )
