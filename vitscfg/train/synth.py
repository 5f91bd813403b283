"""`vitscfg synth`: text -> 16-bit WAV with a trained generator.

    vitscfg synth --checkpoint runs/tiny/G_200.pth --config runs/tiny/config.json \\
        "The cat sat on the mat." -o runs/tiny/demo.wav

The text goes through the same frontend as training (the config's `text_cleaners`,
the vits symbol set, blanks with `add_blank`), so a checkpoint and its config are
all that is needed. The file is written atomically: a failed run never leaves a
half-written WAV in place of a good one.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

from rich.console import Console


def run_synth(
    text: str,
    *,
    checkpoint: str | os.PathLike[str],
    config: str | os.PathLike[str],
    output: str | os.PathLike[str],
    speaker: int = 0,
    noise_scale: float = 0.667,
    noise_scale_w: float = 0.8,
    length_scale: float = 1.0,
    seed: int = 0,
    console: Console | None = None,
) -> int:
    """0 written; 1 bad checkpoint/text/speaker, or the config fails `check` or cannot be
    built; 2 unreadable config. No traceback."""
    err = console or Console(stderr=True, highlight=False, soft_wrap=True)
    out = console or Console(highlight=False, soft_wrap=True)
    from vitscfg.opening import Refused, open_config

    try:  # the same opening as train and estimate (the data rules: not needed to speak)
        opened = open_config(config, check_data=False)
        data, dialect = opened.data, opened.dialect
    except Refused as exc:
        if exc.check is not None and exc.check.errors:
            from vitscfg.lint.report import REPORTERS

            err.print(REPORTERS["text"](exc.check, color=False).rstrip("\n"), markup=False)
        err.print(f"[red]error:[/] {exc.message}")
        return exc.exit_code
    if not isinstance(data.get("data"), dict):
        err.print(f"[red]error:[/] {config}: not a VITS config (no `data` section)")
        return 2
    if length_scale <= 0:
        err.print("[red]error:[/] --length-scale must be positive")
        return 1

    import soundfile as sf
    import torch

    from vitscfg.atomic import atomic_write_bytes
    from vitscfg.data.dataset import DataConfig
    from vitscfg.data.symbols import VITS_SYMBOLS
    from vitscfg.data.text import TextFrontendError, intersperse, text_to_ids
    from vitscfg.model import build_nets
    from vitscfg.model.checkpoint_compat import model_state_from_checkpoint
    from vitscfg.model.synthesizer import SynthesizerTrn

    try:
        # The fork's own generator (VITS2: its flows, mel posterior widths), as training built it.
        net_g = build_nets(data, dialect)["G"]
        if not isinstance(net_g, SynthesizerTrn):
            raise ValueError(
                f"synth speaks with VITS-family generators, not {type(net_g).__name__}"
            )
        hp = net_g.hp
        dcfg = DataConfig.from_mapping(data["data"])
    except (ValueError, KeyError, TypeError) as exc:
        err.print(f"[red]error:[/] {config}: {exc}")
        return 2
    try:
        ids = text_to_ids(text, VITS_SYMBOLS, False, dcfg.text_cleaners, source="<text>")
    except TextFrontendError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 1
    if dcfg.add_blank:
        ids = intersperse(ids, 0)
    if not ids:
        err.print("[red]error:[/] the text is empty after cleaning")
        return 1
    if hp.n_speakers > 1 and not 0 <= speaker < hp.n_speakers:
        err.print(f"[red]error:[/] --speaker {speaker} is outside [0, {hp.n_speakers})")
        return 1
    if hp.n_speakers <= 1 and speaker != 0:
        err.print("[red]error:[/] --speaker needs a multi-speaker model (data.n_speakers > 1)")
        return 1

    if not Path(checkpoint).is_file():
        err.print(f"[red]error:[/] --checkpoint {checkpoint}: no such file")
        return 1
    try:
        ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
        net_g.load_state_dict(model_state_from_checkpoint(ckpt), strict=True)
    except pickle.UnpicklingError:
        err.print(f"[red]error:[/] {checkpoint}: not a checkpoint torch can load safely")
        return 1
    except (OSError, EOFError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else "empty file"
        err.print(
            f"[red]error:[/] {checkpoint}: not a generator checkpoint for this config ({first})"
        )
        return 1
    net_g.eval()
    torch.manual_seed(seed)
    x = torch.tensor([ids], dtype=torch.long)
    sid = torch.tensor([speaker]) if hp.n_speakers > 1 else None
    result = net_g.infer(
        x,
        torch.tensor([len(ids)]),
        sid,
        noise_scale=noise_scale,
        length_scale=length_scale,
        noise_scale_w=noise_scale_w,
    )
    samples = int(result.lengths[0]) * hp.hop_length
    audio = result.audio[0, 0, :samples].clamp(-1.0, 1.0)
    pcm = (audio * 32767.0).round().to(torch.int16).numpy()
    buffer = io.BytesIO()
    sf.write(buffer, pcm, hp.sampling_rate, subtype="PCM_16", format="WAV")
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:
        err.print(f"[red]error:[/] {path}: {exc.strerror or exc}")
        return 1
    out.print(f"wrote {path} ({samples / hp.sampling_rate:.2f} s at {hp.sampling_rate} Hz)")
    return 0
