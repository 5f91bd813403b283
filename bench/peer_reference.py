"""Our VITS training step against the reference VITS code's step: same weights, same batch.

    .venv/bin/python bench/peer_reference.py --reference DIR             # CPU, ljs_base, batch 2
    python3 bench/peer_reference.py --reference DIR --device cuda --precision fp16 --batch 32

DIR is a checkout of jaywalnut310/vits (commit 2e561ba), kept outside the tracked tree
(`make gpu-deps REFERENCE=/path/to/vits` copies its Python files to .gpu_deps/vits, which
git ignores and the GPU check carries). Its code never enters this repository: this script
imports it from DIR at run time. Without DIR it prints one line saying so and exits 0.

Both sides get the ljs_base model (tests/fixtures/shared_configs), built by
`vitscfg.model.build_nets` and copied into the reference's SynthesizerTrn and
MultiPeriodDiscriminator with ``load_state_dict(strict=True)`` (same keys and shapes), and
one worst-case batch (every item ``--text-len`` ids and ``--frames`` frames). Our side runs
`vitscfg.train.step.train_step` on the state of `vitscfg.train.state.build_step_state`. The
reference side runs its modules in the order of its train.py (G forward under autocast; mel
of the target and of the output; D update through its GradScaler with its
``clip_grad_value_`` norm; D again for the adversarial and feature losses; mel L1 x c_mel +
KL x c_kl + duration; G update), written here from that order, calling its own losses,
commons and mel_processing functions.

What the reference needs that a modern environment lacks, substituted (and said):
* its ``monotonic_align`` is a Cython extension to build by hand: unless DIR has it built,
  vitscfg's numba MAS stands in, with the reference's round trip (to the host and back);
* ``librosa.filters.mel`` (when librosa is missing): vitscfg's Slaney filterbank, the same
  matrix; scipy placeholders where scipy is missing (the step does not call them);
* ``torch.stft`` without ``return_complex`` (an error since torch 2.0): its module gets a
  ``torch`` whose stft returns the real view that torch 1.x returned.

Timing: two warm-up steps per side, then rounds alternating the sides (``--steps`` each);
the median step of each side; the ratio is ours / reference steps/s. ``--json`` adds one
JSON line (scripts/gpu_check.py reads it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
LJS_BASE = REPO / "tests/fixtures/shared_configs/jaywalnut310__vits__configs_ljs_base.json"

import torch  # noqa: E402


def _stub_missing(names: dict[str, dict[str, Any]]) -> list[str]:
    """Put placeholder modules in sys.modules for the names that do not import."""
    stubbed = []
    for name, attrs in names.items():
        try:
            __import__(name)
        except ImportError:
            module = types.ModuleType(name)
            module.__dict__.update(attrs)
            sys.modules[name] = module
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, module)
            stubbed.append(name)
    return stubbed


def _not_used(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("a placeholder: the training step does not call this")


def _slaney_mel(*args: Any, **kwargs: Any) -> Any:
    """librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax), positional or keyword."""
    from vitscfg.model.mel import mel_filterbank

    names = ("sr", "n_fft", "n_mels", "fmin", "fmax")
    given = {**dict(zip(names, args, strict=False)), **kwargs}
    basis = mel_filterbank(
        int(given["n_fft"]),
        int(given["n_mels"]),
        int(given["sr"]),
        float(given.get("fmin", 0.0)),
        given.get("fmax"),
        torch.device("cpu"),
    )
    return basis.numpy().copy()


class _TorchWithOldStft(types.ModuleType):
    """``torch`` as the reference's mel_processing saw it (torch 1.x): stft without
    return_complex gives the (..., 2) real view."""

    def __init__(self) -> None:
        super().__init__("torch")

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)

    @staticmethod
    def stft(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        kwargs.setdefault("return_complex", True)
        try:
            spec = torch.stft(x, *args, **kwargs)
        except RuntimeError:  # half precision FFT sizes cuFFT refuses: in float32
            window = kwargs.get("window")
            if window is not None:
                kwargs["window"] = window.float()
            spec = torch.stft(x.float(), *args, **kwargs)
        return torch.view_as_real(spec)


def import_reference(folder: Path) -> tuple[dict[str, Any], list[str]]:
    """The reference's modules (models, losses, commons, mel_processing) and what was
    substituted."""
    from vitscfg.model import mas

    if mas.numba_available():
        mas._get_numba_kernel()  # numba reads scipy's version: before any placeholder
    notes = []
    stubbed = _stub_missing(
        {
            "scipy": {},
            "scipy.signal": {"get_window": _not_used},
            "scipy.io": {},
            "scipy.io.wavfile": {"read": _not_used},
            "librosa": {},
            "librosa.util": {"normalize": _not_used, "pad_center": _not_used, "tiny": _not_used},
            "librosa.filters": {"mel": _slaney_mel},
        }
    )
    if stubbed:
        notes.append("librosa's mel filterbank is vitscfg's (librosa missing)")
    sys.path.insert(0, str(folder))
    try:
        import monotonic_align  # noqa: F401  (the reference's own, when built)
    except ImportError:
        shim = types.ModuleType("monotonic_align")
        cpu_mas = mas.maximum_path_numba if mas.numba_available() else mas.maximum_path_numpy
        shim.maximum_path = cpu_mas  # type: ignore[attr-defined]
        sys.modules["monotonic_align"] = shim
        notes.append(
            "the reference's Cython MAS is not built: vitscfg's CPU MAS stands in, with the "
            "same host round trip"
        )
    modules = {name: __import__(name) for name in ("commons", "losses", "mel_processing", "models")}
    setattr(modules["mel_processing"], "torch", _TorchWithOldStft())  # noqa: B010
    for name in stubbed:  # the reference holds them now; nothing else should see them
        del sys.modules[name]
    return modules, notes


def mas_numba() -> bool:
    from vitscfg.model import mas

    return mas.numba_available()


def reference_commit(folder: Path) -> str:
    """The checkout's commit: its own git (not an enclosing repository's), else the COMMIT
    file `make gpu-deps` writes beside the copied files."""
    stamp = folder / "COMMIT"
    if stamp.exists():
        return stamp.read_text(encoding="utf-8").strip()
    if (folder / ".git").exists():
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            return done.stdout.strip()
    return "unknown"


class ReferenceStep:
    """The reference train.py's D-then-G iteration over its own modules."""

    def __init__(self, ref: dict[str, Any], config: dict[str, Any], nets: Any, precision: str):
        from vitscfg.model.hparams import ModelHParams

        hp = ModelHParams.from_config(config)
        self.ref, self.data, self.train = ref, config["data"], config["train"]
        self.hop = int(self.data["hop_length"])
        models = ref["models"]
        self.net_g = models.SynthesizerTrn(
            hp.n_vocab,
            int(self.data["filter_length"]) // 2 + 1,
            int(self.train["segment_size"]) // self.hop,
            **config["model"],
        )
        self.net_d = models.MultiPeriodDiscriminator(config["model"]["use_spectral_norm"])
        self.net_g.load_state_dict(nets["G"].state_dict(), strict=True)
        self.net_d.load_state_dict(nets["D"].state_dict(), strict=True)
        t = self.train
        self.optim_g, self.optim_d = (
            torch.optim.AdamW(n.parameters(), t["learning_rate"], betas=t["betas"], eps=t["eps"])
            for n in (self.net_g, self.net_d)
        )
        self.fp16 = precision == "fp16"

    def to(self, device: torch.device) -> ReferenceStep:
        self.net_g.to(device).train()
        self.net_d.to(device).train()
        self.device = device
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.fp16)  # type: ignore[attr-defined]
        return self

    def __call__(self, batch: Any) -> None:
        d, t = self.data, self.train
        commons, losses, mel = self.ref["commons"], self.ref["losses"], self.ref["mel_processing"]
        mel_args = (d["filter_length"], d["n_mel_channels"], d["sampling_rate"])
        with torch.autocast(self.device.type, enabled=self.fp16):
            y_hat, l_length, _, ids_slice, _, z_mask, (_, z_p, m_p, logs_p, _, logs_q) = self.net_g(
                batch.text, batch.text_lengths, batch.spec, batch.spec_lengths
            )
            target = mel.spec_to_mel_torch(batch.spec, *mel_args, d["mel_fmin"], d["mel_fmax"])
            y_mel = commons.slice_segments(target, ids_slice, t["segment_size"] // self.hop)
            y_hat_mel = mel.mel_spectrogram_torch(
                y_hat.squeeze(1), *mel_args, self.hop, d["win_length"], d["mel_fmin"], d["mel_fmax"]
            )
            y = commons.slice_segments(batch.wav, ids_slice * self.hop, t["segment_size"])
            real, fake, _, _ = self.net_d(y, y_hat.detach())
            with torch.autocast(self.device.type, enabled=False):
                loss_disc, _, _ = losses.discriminator_loss(real, fake)
        self.optim_d.zero_grad()
        self.scaler.scale(loss_disc).backward()
        self.scaler.unscale_(self.optim_d)
        commons.clip_grad_value_(self.net_d.parameters(), None)
        self.scaler.step(self.optim_d)
        with torch.autocast(self.device.type, enabled=self.fp16):
            _, fake, fmap_r, fmap_g = self.net_d(y, y_hat)
            with torch.autocast(self.device.type, enabled=False):
                loss_mel = torch.nn.functional.l1_loss(y_mel, y_hat_mel) * t["c_mel"]
                loss_kl = losses.kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * t["c_kl"]
                loss_fm = losses.feature_loss(fmap_r, fmap_g)
                loss_gen, _ = losses.generator_loss(fake)
                loss_all = loss_gen + loss_fm + loss_mel + torch.sum(l_length.float()) + loss_kl
        self.optim_g.zero_grad()
        self.scaler.scale(loss_all).backward()
        self.scaler.unscale_(self.optim_g)
        commons.clip_grad_value_(self.net_g.parameters(), None)
        self.scaler.step(self.optim_g)
        self.scaler.update()


def timed(step: Any, batch: Any, n: int, device: torch.device, threads: int) -> list[float]:
    out = []
    for _ in range(n):
        if device.type == "cpu":  # numba's OpenMP layer (the MAS, both sides) resets it
            torch.set_num_threads(threads)
        t0 = time.perf_counter()
        step(batch)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default=str(REPO / ".gpu_deps" / "vits"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", choices=("fp32", "fp16"), default="fp32")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--text-len", type=int, default=100)
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per side per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (--device cpu)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    folder = Path(args.reference)
    if not (folder / "models.py").is_file():
        line = (
            f"peer_reference: skipped, no reference VITS checkout at {folder} (a checkout of "
            "jaywalnut310/vits; `make gpu-deps REFERENCE=DIR` copies one there)"
        )
        print(line)
        if args.json:
            print(json.dumps({"skipped": line}))
        return 0
    device = torch.device(args.device)
    from vitscfg.estimate.trace import StepConfig, StepPoint, make_batch
    from vitscfg.model import build_nets
    from vitscfg.model.hparams import ModelHParams
    from vitscfg.train.state import build_step_state
    from vitscfg.train.step import train_step

    config = json.loads(LJS_BASE.read_text(encoding="utf-8"))
    step_config = StepConfig.of(config, "vits")
    torch.manual_seed(0)
    nets = build_nets(config, "vits")
    ref_modules, notes = import_reference(folder)
    reference = ReferenceStep(ref_modules, config, nets, args.precision).to(device)
    parts = build_step_state(config, step_config.train, args.precision, device, dialect="vits")
    for name, net in parts.nets.items():  # our side starts from the same weights
        net.load_state_dict(nets[name].state_dict())
    hp = ModelHParams.from_config(config)
    segment = int(config["train"]["segment_size"])
    point = StepPoint(args.batch, segment, args.text_len, args.frames)
    batch = make_batch(hp, point, torch.Generator().manual_seed(0)).to(device)

    def ours(b: Any) -> None:
        train_step(parts.step, b)

    if device.type == "cpu" and mas_numba():
        import numba

        numba.set_num_threads(min(args.threads, numba.get_num_threads()))
    n = args.threads
    timed(ours, batch, 2, device, n)
    timed(reference, batch, 2, device, n)
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(args.rounds):
        mine += timed(ours, batch, args.steps, device, n)
        theirs += timed(reference, batch, args.steps, device, n)
    ours_rate = 1 / statistics.median(mine)
    ref_rate = 1 / statistics.median(theirs)
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "precision": args.precision,
        "batch": args.batch,
        "lengths": [args.text_len, args.frames],
        "threads": args.threads if device.type == "cpu" else None,
        "ours_steps_per_s": ours_rate,
        "reference_steps_per_s": ref_rate,
        "ratio": ours_rate / ref_rate,
        "reference_commit": reference_commit(folder),
        "note": "; ".join(notes),
    }
    print(
        f"peer_reference ({result['device']}, {args.precision}, batch {args.batch}, "
        f"{args.text_len} ids x {args.frames} frames): vitscfg {ours_rate:.3f} steps/s, "
        f"reference {ref_rate:.3f} steps/s: {ours_rate / ref_rate:.2f}x"
        + (f" [{result['note']}]" if notes else "")
    )
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
