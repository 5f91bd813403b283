"""One DDP rank for tests/train/test_distributed_vits2.py (not collected by pytest).

    python -m torch.distributed.run --nproc_per_node 2 --master_port PORT \
        tests/train/_ddp_vits2_worker.py OUT_DIR STEPS MICRO_BATCHES [NAN_RANK]

Every rank builds the micro VITS2 networks (tests/train/_vits2kit.py's widths) from its own
seed and wraps them as ``vitscfg train`` does (G and the duration discriminator with
find_unused_parameters), then runs STEPS optimizer steps of the guarded VITS2 step
(MICRO_BATCHES micro-batches each) on data that differs per rank, and writes
OUT_DIR/rank<r>.json: a sha256 of every network's parameters before and after, and its
losses. Identical digests with different losses prove the all-reduce of all three
networks; NAN_RANK's second batch has a NaN spectrogram, which every rank must skip.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _trainkit import MICRO_MODEL, write_rank_report  # noqa: E402
from _vits2kit import EXAMPLE  # noqa: E402

from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.synthesizer import SynthesizerTrn  # noqa: E402
from vitscfg.train import distributed  # noqa: E402
from vitscfg.train.vits2_step import vits2_trace_batch, vits2_train_step  # noqa: E402


def digest(nets: dict[str, torch.nn.Module]) -> dict[str, str]:
    out = {}
    for name, net in nets.items():
        h = hashlib.sha256()
        for key, param in distributed.unwrap(net).named_parameters():
            h.update(key.encode())
            h.update(param.detach().cpu().contiguous().numpy().tobytes())
        out[name] = h.hexdigest()
    return out


def main(out_dir: Path, steps: int, micro_batches: int, nan_rank: int | None) -> None:
    torch.set_num_threads(1)  # two ranks on a two-core machine
    dist = distributed.setup(use_gpu=False, timeout_s=120)
    try:
        config: dict[str, Any] = json.loads(EXAMPLE.read_text())
        config["model"].update(MICRO_MODEL)
        config["train"]["segment_size"] = 2048
        torch.manual_seed(100 + dist.rank)  # different init per rank: DDP must broadcast
        bare = build_nets(config, dialect="vits2")
        generator = bare["G"]
        assert isinstance(generator, SynthesizerTrn)
        unused = {"G": True, "D": False, "DurDisc": True}  # as vits2_run.Vits2Trainer
        nets = {n: distributed.wrap(net, dist, find_unused=unused[n]) for n, net in bare.items()}
        before = digest(nets)
        optimizers = {n: torch.optim.AdamW(net.parameters(), 2e-4) for n, net in nets.items()}
        data = torch.Generator().manual_seed(7 + dist.rank)  # different data per rank
        losses, skipped = [], []
        for index in range(steps):
            for micro in range(micro_batches):
                batch = vits2_trace_batch(generator.hp, 2, 12, 32, torch.device("cpu"))
                batch.text.random_(1, 100, generator=data)
                batch.spec.normal_(generator=data)
                batch.wav.uniform_(-0.5, 0.5, generator=data)
                if dist.rank == nan_rank and index == 1:
                    batch.spec[0] = float("nan")
                result = vits2_train_step(
                    nets,
                    optimizers,
                    batch,
                    c_mel=45.0,
                    c_kl=1.0,
                    global_step=index,
                    micro_index=micro,
                    micro_batches=micro_batches,
                    guard=True,
                )
                if result.skipped:
                    break
            skipped.append(result.skipped)
            losses.append(float(result.losses["d/total"]))
        distributed.barrier(dist)
        write_rank_report(out_dir, dist, before, digest(nets), losses, skipped)
    finally:
        distributed.cleanup(dist)


if __name__ == "__main__":
    main(
        Path(sys.argv[1]),
        int(sys.argv[2]),
        int(sys.argv[3]),
        int(sys.argv[4]) if len(sys.argv) > 4 else None,
    )
