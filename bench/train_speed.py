"""Steps/s of `vitscfg train` (the real loop) against the training step alone.

    .venv/bin/python bench/train_speed.py                 # CPU: tiny and ljs_base at batch 2
    .venv/bin/python bench/train_speed.py --steps 12 --cases tiny --threads=2

For each case the trainer runs ``run_train(config, max_steps=N)`` exactly as
``vitscfg train`` does (bucket sampler, DataLoader, NaN guard, logging at the config's
log_interval; evaluation pushed past N, since it is work, not overhead). A wrapper around
``loop.train_step`` records when each step ends and keeps its batch; then the same
batches are replayed through ``train_step`` in a bare loop with freshly built models
and optimisers. Both figures are medians of the gaps between step ends after two warm-up
steps; the ratio is what the trainer adds (loader, guard syncs, logging, bookkeeping).
The bar is < 5%. A loaded machine makes single runs noisy: rounds alternate
trainer/bare and the median over rounds is reported.

Cases: ``tiny`` = examples/tiny/config.json with its bundled corpus (16 kHz);
``ljs_base`` = the reference ljs_base widths (tests/fixtures/shared_configs) on the synthetic 22.05 kHz corpus of
bench/peer_train.py. On a CUDA machine it also prints ljs_base steps/s at batch 16 and 32
in fp32 and fp16 (bare step on synthetic batches); elsewhere it prints "no GPU".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# Threads are fixed before torch and numba start: on a busy 2-core machine, 2 OpenMP
# threads per process plus numba's parallel MAS make single steps swing 4-10x.
_THREADS = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--threads=")), "1")
os.environ.setdefault("NUMBA_NUM_THREADS", _THREADS)
os.environ.setdefault("OMP_NUM_THREADS", _THREADS)

import torch  # noqa: E402
from torch.amp.grad_scaler import GradScaler  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_train import (  # noqa: E402
    LJS_BASE,
    make_corpus,
    run_trainer_timed,
    step_seconds,
    vitscfg_config,
)

from vitscfg.model import build_models  # noqa: E402
from vitscfg.train.step import Batch, StepState, make_optimizers, train_step  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "train_speed"


def case_config(name: str, batch: int) -> tuple[dict[str, Any], Path]:
    """(config, where to write it: relative filelists resolve against that folder)."""
    if name == "tiny":
        path = REPO / "examples" / "tiny" / "config.json"
        config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        config.pop("$schema", None)
        config["train"].update(batch_size=batch, eval_interval=10**6, keep_ckpts=1)
        return config, path.parent / ".bench_speed_config.json"
    data = REPO / "bench" / "out" / "peer-data"
    make_corpus(data)
    config = vitscfg_config(data, batch)
    config["train"]["log_interval"] = json.loads(LJS_BASE.read_text())["train"]["log_interval"]
    return config, OUT / "ljs_base_config.json"


def run_trainer(config_path: Path, steps: int, run_dir: Path) -> tuple[float, list[Batch]]:
    ends, batches = run_trainer_timed(config_path, steps, run_dir)
    return step_seconds(ends), batches


def run_bare(config: dict[str, Any], batches: list[Batch]) -> float:
    t = config["train"]
    torch.manual_seed(t["seed"])
    net_g, net_d = build_models(config)
    optim_g, optim_d = make_optimizers(
        net_g, net_d, t["learning_rate"], tuple(t["betas"]), t["eps"]
    )
    scaler = GradScaler("cpu", enabled=False)
    state = StepState(net_g, net_d, optim_g, optim_d, scaler, net_g.hp, t["c_mel"], t["c_kl"])
    ends = [time.perf_counter()]
    for batch in batches:
        train_step(state, batch)
        ends.append(time.perf_counter())
    return step_seconds(ends[1:])


def cpu_cases(names: list[str], steps: int, batch: int, rounds: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    for name in names:
        config, config_path = case_config(name, batch)
        config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        trainer_s, bare_s = [], []
        try:
            for _ in range(rounds):
                seconds, batches = run_trainer(config_path, steps, OUT / f"run_{name}")
                trainer_s.append(seconds)
                bare_s.append(run_bare(config, batches))
        finally:
            if name == "tiny":
                config_path.unlink(missing_ok=True)
        tr, ba = statistics.median(trainer_s), statistics.median(bare_s)
        print(
            f"{name:9s} batch {batch}: trainer {1 / tr:6.2f} steps/s ({tr * 1000:7.1f} ms), "
            f"bare step {1 / ba:6.2f} steps/s ({ba * 1000:7.1f} ms); overhead "
            f"{(tr / ba - 1) * 100:+5.1f}%  [rounds: trainer "
            + ", ".join(f"{s * 1000:.0f}" for s in trainer_s)
            + " ms; bare "
            + ", ".join(f"{s * 1000:.0f}" for s in bare_s)
            + " ms]",
            flush=True,
        )


def gpu_cases(steps: int) -> None:
    if not torch.cuda.is_available():
        print("no GPU: skipping ljs_base batch 16/32 fp32/fp16")
        return
    from vitscfg.model.mel import spectrogram

    # examples/ljs_base.json: the reference widths in the vitscfg dialect.
    path = REPO / "examples" / "ljs_base.json"
    config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device)
    for batch in (16, 32):
        for precision in ("fp32", "fp16"):
            torch.manual_seed(0)
            bare_g, bare_d = build_models(config)
            hp = bare_g.hp
            net_g, net_d = bare_g.to(device), bare_d.to(device)
            optim_g, optim_d = make_optimizers(net_g, net_d, 2e-4, (0.8, 0.99), 1e-9)
            scaler = GradScaler("cuda", enabled=precision == "fp16")
            state = StepState(
                net_g, net_d, optim_g, optim_d, scaler, hp, 45.0, 1.0, precision=precision
            )
            frames, text_len = 400, 100
            lengths = (torch.linspace(1.0, 0.9, batch) * frames).long()
            audio = (torch.rand(batch, frames * hp.hop_length) * 2 - 1) * 0.3
            audio = audio * (torch.arange(audio.size(1)) < lengths[:, None] * hp.hop_length)
            text_lengths = (torch.linspace(1.0, 0.9, batch) * text_len).long()
            text = torch.randint(1, hp.n_vocab, (batch, text_len))
            text = text * (torch.arange(text_len) < text_lengths[:, None])
            spec = spectrogram(audio, hp.filter_length, hp.hop_length, hp.win_length)
            b = Batch(
                text, text_lengths, spec, lengths, audio.unsqueeze(1), lengths * hp.hop_length
            ).to(device)
            ends = []
            for _ in range(steps):
                train_step(state, b)
                torch.cuda.synchronize()
                ends.append(time.perf_counter())
            s = step_seconds(ends)
            print(
                f"ljs_base  batch {batch} {precision} on {name}: {1 / s:6.2f} steps/s ({s * 1000:.0f} ms)"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cases", nargs="*", default=["tiny", "ljs_base"])
    parser.add_argument("--threads", default=_THREADS, help="--threads=N: torch and numba threads")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"CPU: {os.cpu_count()} cores, load average {load:.1f}, torch {torch.__version__}, "
        f"{os.environ['OMP_NUM_THREADS']} torch/numba thread(s)"
    )
    cpu_cases(args.cases, args.steps, args.batch, args.rounds)
    gpu_cases(args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
