"""`vitscfg train` against a peer trainer (coqui-tts 0.28 VITS), same data, CPU, fp32.

    .venv/bin/python bench/peer_train.py              # creates bench/out/peer-venv if missing
    .venv/bin/python bench/peer_train.py --steps 8 --batch 4

Both train VITS at the reference size (ljs_base widths; coqui's default VitsArgs have the
same widths) on the same synthetic corpus (24 clips of 2-5 s at 22.05 kHz: a gliding tone
plus noise with random English words; characters, no phonemizer) with batch 4, segment
8192 samples, OMP_NUM_THREADS (default 1) torch and numba threads, no evaluation. Each
side records the wall-clock time at the end of every optimiser step inside its own real loop (data loading, logging and both
optimiser steps included); the median over steps 3..N is reported, and the ratio.

The peer lives in its own virtual environment (../shared/reference/trainer.md 5.1-5.2):
coqui-tts 0.28 needs torch/torchaudio 2.11 (torchaudio 2.11 only imports against the
CUDA build of torch 2.11, which runs on CPU), torchcodec (torchaudio decodes through it;
it needs the FFmpeg libraries: `apt-get install ffmpeg`) and `six` (an undeclared
import). Creating it downloads about 3 GB once. If it cannot be created here, the script
says why and exits 0 with only the vitscfg figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

# Threads before torch/numba load (both sides): a busy 2-core box swings 4-10x otherwise.
THREADS = int(os.environ.setdefault("OMP_NUM_THREADS", "1"))
os.environ.setdefault("NUMBA_NUM_THREADS", str(THREADS))
REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
VENV = OUT / "peer-venv"
LJS_BASE = REPO / "tests/fixtures/shared_configs/jaywalnut310__vits__configs_ljs_base.json"
PEER_PACKAGES = [
    "torch==2.11.0",
    "torchaudio==2.11.0",
    "torchcodec==0.17.0",
    "coqui-tts==0.28.0",
    "six",
]
SR = 22050
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "seven",
    "bright",
    "stars",
    "shine",
    "above",
    "quiet",
    "rivers",
    "and",
    "tall",
    "green",
    "mountains",
    "near",
    "an",
    "old",
    "stone",
    "bridge",
]


# -- data ---------------------------------------------------------------------------------
def make_corpus(folder: Path, n: int = 24, seed: int = 0) -> list[tuple[str, str]]:
    """Write n mono 16-bit WAVs and return (stem, text) pairs (idempotent)."""
    rng = random.Random(seed)
    wavs = folder / "wavs"
    wavs.mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(n):
        stem = f"clip{i:03d}"
        seconds = rng.uniform(2.0, 5.0)
        text = " ".join(rng.choice(WORDS) for _ in range(int(seconds * 3))) + "."
        items.append((stem, text))
        path = wavs / f"{stem}.wav"
        if path.exists():
            continue
        count = int(seconds * SR)
        f0, f1 = rng.uniform(120, 200), rng.uniform(200, 320)
        frames = bytearray()
        phase = 0.0
        for k in range(count):
            freq = f0 + (f1 - f0) * k / count
            phase += 2 * math.pi * freq / SR
            value = 0.3 * math.sin(phase) + 0.02 * rng.uniform(-1, 1)
            frames += int(max(-1.0, min(1.0, value)) * 32767).to_bytes(2, "little", signed=True)
        with wave.open(str(path), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(SR)
            handle.writeframes(bytes(frames))
    # LJSpeech layout for coqui (id|text|normalised text); "path|text" filelists for vitscfg.
    lines = [f"{stem}|{text}|{text}" for stem, text in items]
    (folder / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    filelist = [f"{wavs / stem}.wav|{text}" for stem, text in items]
    (folder / "train.txt").write_text("\n".join(filelist) + "\n", encoding="utf-8")
    (folder / "val.txt").write_text("\n".join(filelist[:2]) + "\n", encoding="utf-8")
    return items


# -- vitscfg ------------------------------------------------------------------------------
def vitscfg_config(data: Path, batch: int) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(LJS_BASE.read_text(encoding="utf-8"))
    config.pop("$schema", None)
    train = config["train"]
    train.update(
        use_gpu=False,
        batch_size=batch,
        fp16_run=False,
        eval_interval=10**6,  # no eval inside the timed steps
        log_interval=10**6,
        num_workers=0,
        keep_ckpts=1,
        epochs=10**4,
    )
    config["data"].update(
        training_files=str(data / "train.txt"),
        validation_files=str(data / "val.txt"),
        text_cleaners=["english_cleaners"],
        cleaned_text=False,
    )
    return config


def step_seconds(ends: list[float], skip: int = 2) -> float:
    """Median time between consecutive step ends, after ``skip`` warm-up steps."""
    gaps = [b - a for a, b in zip(ends, ends[1:], strict=False)][skip:]
    return statistics.median(gaps) if gaps else float("nan")


def run_trainer_timed(
    config_path: Path, steps: int, run_dir: Path
) -> tuple[list[float], list[Any]]:
    """`vitscfg train --max-steps N` (run_train, from scratch in ``run_dir``) with the
    wall-clock end and the batch of every step: the loop's ``train_step`` is wrapped."""
    from vitscfg.train import loop
    from vitscfg.train.run import run_train

    ends: list[float] = []
    batches: list[Any] = []
    real_step = vars(loop)["train_step"]  # patched: the loop looks it up per step

    def timed(state: Any, batch: Any, **kwargs: Any) -> Any:
        result = real_step(state, batch, **kwargs)
        ends.append(time.perf_counter())
        batches.append(batch)
        return result

    shutil.rmtree(run_dir, ignore_errors=True)
    vars(loop)["train_step"] = timed
    try:
        code = run_train(config_path, run_dir=run_dir, max_steps=steps, resume=False)
    finally:
        vars(loop)["train_step"] = real_step
    if code != 0:
        raise SystemExit(f"vitscfg train exited {code}")
    return ends, batches


def time_vitscfg(data: Path, batch: int, steps: int, run_dir: Path) -> float:
    """Seconds per step of the real `vitscfg train` loop (run_train, --max-steps)."""
    import torch

    torch.set_num_threads(THREADS)
    config_path = run_dir.parent / "vitscfg_peer_config.json"
    config_path.write_text(json.dumps(vitscfg_config(data, batch), indent=2), encoding="utf-8")
    ends, _ = run_trainer_timed(config_path, steps, run_dir)
    return step_seconds(ends)


# -- peer ---------------------------------------------------------------------------------
PEER_SCRIPT = r"""
import json, os, sys, time
import torch
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
from trainer import Trainer, TrainerArgs
from TTS.config.shared_configs import BaseAudioConfig, BaseDatasetConfig
from TTS.tts.configs.vits_config import VitsConfig
from TTS.tts.datasets import load_tts_samples
from TTS.tts.models.vits import Vits

data, out, batch, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
dataset = BaseDatasetConfig(formatter="ljspeech", meta_file_train="metadata.csv", path=data)
audio = BaseAudioConfig(sample_rate=22050, fft_size=1024, win_length=1024, hop_length=256,
                        num_mels=80, mel_fmin=0, mel_fmax=None)
config = VitsConfig(
    audio=audio, run_name="peer", batch_size=batch, eval_batch_size=batch, batch_group_size=0,
    num_loader_workers=0, num_eval_loader_workers=0, run_eval=False, test_delay_epochs=-1,
    epochs=1000, text_cleaner="english_cleaners", use_phonemes=False, compute_input_seq_cache=False,
    print_step=10**6, print_eval=False, mixed_precision=False, output_path=out,
    datasets=[dataset], test_sentences=[], save_step=10**9, save_checkpoints=False,
    plot_step=10**9, dashboard_logger="tensorboard", cudnn_benchmark=False,
)
config.model_args.spec_segment_size = 32  # 8192 samples / hop 256, as ljs_base
train_samples, _ = load_tts_samples(config, eval_split=True, eval_split_size=2)
model = Vits.init_from_config(config) if hasattr(Vits, "init_from_config") else Vits(config)
ends = []
real = Trainer.train_step
def timed(self, *args, **kwargs):
    result = real(self, *args, **kwargs)
    ends.append(time.perf_counter())
    if len(ends) >= steps:
        with open(os.path.join(out, "peer_times.json"), "w") as f:
            json.dump({"ends": ends, "params": sum(p.numel() for p in model.parameters())}, f)
        os._exit(0)
    return result
Trainer.train_step = timed
trainer = Trainer(TrainerArgs(), config, out, model=model, train_samples=train_samples,
                  eval_samples=None)
trainer.fit()
"""


def peer_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_peer_venv() -> str | None:
    """Create the peer venv when missing; None when ready, else the reason it is not."""
    python = peer_python()
    marker = VENV / ".complete"
    if marker.exists():
        return None
    print(f"creating {VENV} for the peer trainer (about 3 GB of wheels, once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return "pip could not install " + " ".join(PEER_PACKAGES) + ":\n  " + "\n  ".join(tail)
    check = subprocess.run(
        [str(python), "-c", "import TTS.tts.models.vits, trainer, torchcodec"],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        tail = check.stderr.strip().splitlines()[-3:]
        hint = (
            " (install FFmpeg: apt-get install ffmpeg)" if "ffmpeg" in check.stderr.lower() else ""
        )
        return "the peer venv does not import" + hint + ":\n  " + "\n  ".join(tail)
    marker.write_text("ok\n")
    return None


def time_peer(data: Path, batch: int, steps: int, out: Path) -> tuple[float, int]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    script = out / "peer_coqui.py"
    script.write_text(PEER_SCRIPT, encoding="utf-8")
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [str(peer_python()), str(script), str(data), str(out), str(batch), str(steps)],
        capture_output=True,
        text=True,
        env=env,
    )
    result = out / "peer_times.json"
    if not result.exists():
        tail = (proc.stderr + proc.stdout).strip().splitlines()[-15:]
        raise RuntimeError("coqui run failed:\n  " + "\n  ".join(tail))
    data_out = json.loads(result.read_text())
    return step_seconds(data_out["ends"]), int(data_out["params"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--setup-only", action="store_true", help="create the peer venv, stop")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    why = ensure_peer_venv()
    if args.setup_only:
        print(why or f"peer venv ready: {VENV}")
        return 0
    data = OUT / "peer-data"
    make_corpus(data)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CPU, {os.cpu_count()} cores, load average {load:.1f}; batch {args.batch}, fp32")
    ours = time_vitscfg(data, args.batch, args.steps, OUT / "peer-vitscfg-run")
    print(f"vitscfg train : {ours:6.2f} s/step  {1 / ours:.3f} steps/s")
    if why is not None:
        print(f"peer (coqui-tts 0.28): not run: {why}")
        return 0
    try:
        theirs, params = time_peer(data, args.batch, args.steps, OUT / "peer-coqui-run")
    except RuntimeError as err:
        print(f"peer (coqui-tts 0.28): failed: {err}")
        return 0
    print(
        f"coqui-tts 0.28: {theirs:6.2f} s/step  {1 / theirs:.3f} steps/s ({params / 1e6:.1f} M params)"
    )
    print(f"steps/s ratio vitscfg / coqui: {theirs / ours:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
