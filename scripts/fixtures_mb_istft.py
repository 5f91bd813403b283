#!/usr/bin/env python3
"""Regenerate the MB-iSTFT fixtures from checkouts of the two forks (never part of this repo).

    git clone https://github.com/MasayaKawamura/MB-iSTFT-VITS /tmp/mbistft
    git -C /tmp/mbistft checkout df2f8d3063f83c22e04d2c0066fa2129d26da9a1
    git clone https://github.com/FENRlR/MB-iSTFT-VITS2 /tmp/mbistft2
    git -C /tmp/mbistft2 checkout b1a49d9ac2cf6541f28ebf75b112b61afd2a38f1
    python -m venv /tmp/forkenv && /tmp/forkenv/bin/pip install torch==2.9.1 scipy librosa Cython
    (cd /tmp/mbistft/monotonic_align && mkdir -p monotonic_align \
        && /tmp/forkenv/bin/python setup.py build_ext --inplace)
    /tmp/forkenv/bin/python scripts/fixtures_mb_istft.py --fork1 /tmp/mbistft --fork2 /tmp/mbistft2

Both forks' modules share names (models, commons, ...), so each runs in its own process
(``--worker``). Writes, with each fork's commit recorded (read with ``git rev-parse``, or
from a ``.fork_commit`` file in a checkout made without git history):

- ``tests/model/fixtures/mb_istft_keys.json.gz``: every state_dict key and shape of the
  forks' generator, discriminator and (MB-iSTFT-VITS2) duration discriminator for the five
  shared MB-iSTFT-VITS configs (tests/fixtures/shared_configs/MasayaKawamura__*.json) and
  the five configs MB-iSTFT-VITS2 ships (vendored in tests/model/fixtures/mb_istft_vits2/)
  and variants of one (``V2_VARIANTS``), built as the train scripts build them.
- ``tests/model/fixtures/mb_istft_parity.json.gz``: for each tiny case of
  tests/model/mb_istft_golden.py, with weights seeded by key name and the global generator
  seeded before the forward pass: the generator's outputs (audio, sub-band signals, latents,
  durations) and the losses and gradient norms of one training step in the train script's
  order (MB-iSTFT-VITS2: duration discriminator step; discriminator step; both AdamW; then
  the generator's losses through the updated discriminators, incl. the sub-band STFT loss).

How the scripts build the networks: MB-iSTFT-VITS's train_latest.py ``SynthesizerTrn(
len(symbols), filter_length // 2 + 1, segment_size // hop_length, **model)``;
MB-iSTFT-VITS2's train.py passes ``posterior_channels`` (80 with the mel posterior, else
filter_length // 2 + 1; the tiny cases pass n_mel_channels, the model class takes the width)
and the MAS noise (0.01, 2e-6 when ``use_noise_scaled_mas``, else 0, 0), and builds
``DurationDiscriminator`` / ``DurationDiscriminator2(hidden, hidden, 3, 0.1)`` by
``duration_discriminator_type``. Discriminator: ``MultiPeriodDiscriminator(use_spectral_norm)``.

To run 2022 code on torch 2.9 on a CPU, the worker changes four things before importing
the fork, none of which changes a number: ``scipy.signal.kaiser`` (moved to
scipy.signal.windows) is aliased back; ``librosa.filters.mel`` takes its arguments by
position again (librosa 0.10 made them keyword-only); ``Tensor.cuda`` returns the tensor itself (the
fork's PQMF and multi-stream decoder move buffers with ``.cuda(device)``); ``torch.stft``
without ``return_complex`` returns real/imaginary pairs as torch 1.6 did.
MB-iSTFT-VITS's alignment search is its own Cython extension (built as above);
MB-iSTFT-VITS2's cases use its pure-torch ``sma_v1`` search, as its shipped configs do.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when imported as scripts.*
import fixture_common as fc  # noqa: E402

V2_CONFIGS = fc.FIXTURES / "mb_istft_vits2"
FORKS = {"mb-istft-vits": "MasayaKawamura/MB-iSTFT-VITS", "mb-istft-vits2": "FENRlR/MB-iSTFT-VITS2"}


def _patch_runtime() -> None:
    import scipy.signal
    import scipy.signal.windows

    if not hasattr(scipy.signal, "kaiser"):
        scipy.signal.kaiser = scipy.signal.windows.kaiser  # type: ignore[attr-defined]
    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # type: ignore[method-assign,assignment]
    import librosa.filters

    mel = librosa.filters.mel

    def positional_mel(*args: Any, **kwargs: Any) -> Any:
        names = ("sr", "n_fft", "n_mels", "fmin", "fmax")
        return mel(**dict(zip(names, args, strict=False)), **kwargs)

    librosa.filters.mel = positional_mel
    stft = torch.stft

    def old_stft(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        if "return_complex" not in kwargs and not x.is_complex():
            kwargs["return_complex"] = False
        return stft(x, *args, **kwargs)

    torch.stft = old_stft  # type: ignore[assignment]


class Fork:
    """One fork's modules, imported from a checkout."""

    def __init__(self, dialect: str, path: Path) -> None:
        _patch_runtime()
        sys.path.insert(0, str(path))
        import commons  # type: ignore[import-not-found]
        import losses  # type: ignore[import-not-found]
        import mel_processing  # type: ignore[import-not-found]
        import models  # type: ignore[import-not-found]
        import pqmf  # type: ignore[import-not-found]

        self.dialect, self.v2 = dialect, dialect == "mb-istft-vits2"
        self.models, self.commons, self.losses, self.mel, self.pqmf = (
            models,
            commons,
            losses,
            mel_processing,
            pqmf,
        )
        self.n_vocab = fc.symbol_count(path)
        self.commit = fc.git_commit(path, check=False) or _archive_commit(path)

    def nets(self, config: dict[str, Any], posterior: int | None = None) -> dict[str, Any]:
        """The fork's networks under vitscfg's names, as its train script builds them."""
        data, model, train = config["data"], config["model"], config["train"]
        if posterior is None:
            posterior = data["filter_length"] // 2 + 1
        frames = train["segment_size"] // data["hop_length"]
        if not self.v2:
            return {
                "G": self.models.SynthesizerTrn(self.n_vocab, posterior, frames, **model),
                "D": self.models.MultiPeriodDiscriminator(model["use_spectral_norm"]),
            }
        noisy = model.get("use_noise_scaled_mas") is True
        # train_ms.py (speakers) passes n_speakers; train.py (none) does not.
        speakers = {"n_speakers": data["n_speakers"]} if data["n_speakers"] != 0 else {}
        nets: dict[str, Any] = {
            "G": self.models.SynthesizerTrn(
                self.n_vocab,
                posterior,
                frames,
                **speakers,
                mas_noise_scale_initial=0.01 if noisy else 0.0,
                noise_scale_delta=2e-6 if noisy else 0.0,
                **model,
            ),
            "D": self.models.MultiPeriodDiscriminator(model["use_spectral_norm"]),
        }
        if model.get("use_duration_discriminator") is True:
            cls = {
                "dur_disc_1": self.models.DurationDiscriminator,
                "dur_disc_2": self.models.DurationDiscriminator2,
            }[model["duration_discriminator_type"]]
            gin = model.get("gin_channels", 0) if data["n_speakers"] != 0 else 0
            nets["DurDisc"] = cls(
                model["hidden_channels"], model["hidden_channels"], 3, 0.1, gin_channels=gin
            )
        return nets


def _archive_commit(path: Path) -> str:
    # A checkout made with `git archive` has no .git: the caller names the commit in a file.
    marker = path / ".fork_commit"
    return marker.read_text().strip() if marker.exists() else "unknown"


def _shapes(fork: Fork, config: dict[str, Any]) -> dict[str, Any]:
    mel = fork.v2 and config["model"].get("use_mel_posterior_encoder") is True
    with torch.device("meta"):
        nets = fork.nets(config, 80 if mel else None)
    return {name: fc.shapes(net) for name, net in nets.items()}


def keys(fork: Fork) -> tuple[dict[str, Any], dict[str, Any]]:
    """(shipped config name -> network keys/fc.shapes, variant name -> {base, overrides, nets})."""
    if fork.v2:
        paths = sorted(V2_CONFIGS.glob("*.json"))
    else:
        paths = sorted(fc.CONFIGS.glob("MasayaKawamura__MB-iSTFT-VITS__*.json"))
    shipped = {path.name: _shapes(fork, json.loads(path.read_text())) for path in paths}
    from tests.model.mb_istft_golden import V2_VARIANTS, variant_config

    variants: dict[str, Any] = {}
    for name, (base, overrides) in V2_VARIANTS.items() if fork.v2 else ():
        config = variant_config(json.loads((V2_CONFIGS / base).read_text()), overrides)
        variants[name] = {"base": base, "overrides": overrides, "nets": _shapes(fork, config)}
    return shipped, variants


def floats9(t: torch.Tensor) -> dict[str, Any]:
    return fc.floats(t, digits=9)


def parity_case(fork: Fork, case: str) -> dict[str, Any]:
    """Outputs and one training step of the fork's networks for a tiny case."""
    from tests.model.mb_istft_golden import SEED, case_config, decoder_seeded_state, make_batch

    config = case_config(case)
    data, model, train = config["data"], config["model"], config["train"]
    mel_posterior = fork.v2 and model["use_mel_posterior_encoder"]
    nets = fork.nets(config, data["n_mel_channels"] if mel_posterior else None)
    for net in nets.values():
        net.load_state_dict(decoder_seeded_state(net), strict=True)
        net.eval()
    net_g, net_d, net_dd = nets["G"], nets["D"], nets.get("DurDisc")
    b = make_batch(config)
    if fork.v2:  # as train.py at global step 0
        net_g.current_mas_noise_scale = max(net_g.mas_noise_scale_initial, 0.0)
    torch.manual_seed(SEED)
    sid = b.sid if data["n_speakers"] else None
    out = net_g(b.text, b.text_lengths, b.spec, b.spec_lengths, sid)
    y_hat, y_hat_mb, l_length, attn, ids_slice, x_mask, z_mask = out[:7]
    z, z_p, m_p, logs_p, m_q, logs_q = out[7]
    hidden_x, logw, logw_ = out[8] if fork.v2 else (None, None, None)

    seg = fc.segments(
        fork.mel, fork.commons, config, b.spec, y_hat, ids_slice, b.wave, spec_is_mel=mel_posterior
    )
    y = seg.wave

    L = fork.losses
    step: dict[str, float] = {}
    y_d_hat_r, y_d_hat_g, _, _ = net_d(y, y_hat.detach())
    loss_disc, _, _ = L.discriminator_loss(y_d_hat_r, y_d_hat_g)
    if net_dd is not None:
        p_real, p_fake = net_dd(hidden_x.detach(), x_mask.detach(), logw_.detach(), logw.detach())  # noqa: E501
        loss_dur_disc, _, _ = L.discriminator_loss(p_real, p_fake)
        optim_dd = fc.adamw(net_dd, train)
        optim_dd.zero_grad()
        loss_dur_disc.backward()
        step["grad_norm_dur_disc"] = float(fork.commons.clip_grad_value_(net_dd.parameters(), None))
        optim_dd.step()
        step["loss_dur_disc"] = float(loss_dur_disc)
    optim_d = fc.adamw(net_d, train)
    optim_d.zero_grad()
    loss_disc.backward()
    step["grad_norm_d"] = float(fork.commons.clip_grad_value_(net_d.parameters(), None))
    optim_d.step()

    _, y_d_hat_g, fmap_r, fmap_g = net_d(y, y_hat)
    loss_dur = torch.sum(l_length.float())
    g = fc.gen_losses(L, train, seg, out[7], z_mask, y_d_hat_g, fmap_r, fmap_g)
    if model["mb_istft_vits"] is True:
        y_mb = fork.pqmf.PQMF(y.device).analysis(y)
        hps = SimpleNamespace(train=SimpleNamespace(**train))
        loss_subband = L.subband_stft_loss(hps, y_mb, y_hat_mb)
    else:
        loss_subband = torch.tensor(0.0)
    loss_gen_all = g.total() + loss_dur + g.kl + loss_subband
    if net_dd is not None:
        _, y_dur_hat_g = net_dd(hidden_x, x_mask, logw_, logw)
        loss_dur_gen, _ = L.generator_loss(y_dur_hat_g)
        loss_gen_all = loss_gen_all + loss_dur_gen
        step["loss_dur_gen"] = float(loss_dur_gen)
    optim_g = fc.adamw(net_g, train)
    optim_g.zero_grad()
    loss_gen_all.backward()
    step["grad_norm_g"] = float(fork.commons.clip_grad_value_(net_g.parameters(), None))
    step.update(
        loss_disc=float(loss_disc),
        loss_gen=float(g.gen),
        loss_fm=float(g.fm),
        loss_mel=float(g.mel),
        loss_dur=float(loss_dur),
        loss_kl=float(g.kl),
        loss_subband=float(loss_subband),
        loss_gen_all=float(loss_gen_all),
    )
    outputs = {
        "audio": floats9(y_hat),
        "l_length": floats9(l_length),
        "durations": floats9(attn.sum(2)),
        "ids_slice": ids_slice.tolist(),
        "z_p": floats9(z_p),
        "m_p": floats9(m_p),
        "logs_p": floats9(logs_p),
    }
    if y_hat_mb is not None:
        outputs["audio_bands"] = floats9(y_hat_mb)
    if fork.v2:
        outputs.update(logw=floats9(logw), logw_target=floats9(logw_))
    return {"dialect": fork.dialect, "outputs": outputs, "step": step}


def worker(dialect: str, path: Path, out: Path) -> None:
    from tests.model.mb_istft_golden import PARITY_CASES

    torch.set_num_threads(1)
    fork = Fork(dialect, path)
    cases = {case: parity_case(fork, case) for case, (d, _) in PARITY_CASES.items() if d == dialect}
    # A file, not stdout: the forks print while building their models.
    shipped, variants = keys(fork)
    payload = {"commit": fork.commit, "keys": shipped, "variants": variants, "cases": cases}
    out.write_text(json.dumps(payload))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fork1", type=Path, help="MasayaKawamura/MB-iSTFT-VITS checkout")
    parser.add_argument("--fork2", type=Path, help="FENRlR/MB-iSTFT-VITS2 checkout")
    parser.add_argument(
        "--worker", nargs=3, metavar=("DIALECT", "PATH", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    sys.path.insert(0, str(fc.ROOT))
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]).resolve(), Path(args.worker[2]))
        return
    if args.fork1 is None or args.fork2 is None:
        parser.error("give both --fork1 and --fork2")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for dialect, path in (("mb-istft-vits", args.fork1), ("mb-istft-vits2", args.fork2)):
            part = Path(tmp) / f"{dialect}.json"
            done = subprocess.run(
                [sys.executable, __file__, "--worker", dialect, str(path.resolve()), str(part)],
                capture_output=True,
                text=True,
                cwd=path,
            )
            if done.returncode != 0:
                sys.exit(f"{dialect} worker failed:\n{done.stderr[-4000:]}")
            results[dialect] = json.loads(part.read_text())
    forks = {d: {"repo": FORKS[d], "commit": r["commit"]} for d, r in results.items()}
    keys_out = fc.FIXTURES / "mb_istft_keys.json.gz"
    fc.write_gz_json(
        keys_out,
        {
            "forks": forks,
            "configs": {d: r["keys"] for d, r in results.items()},
            "variants": {d: r["variants"] for d, r in results.items() if r["variants"]},
        },
        indent=1,
    )
    parity_out = fc.FIXTURES / "mb_istft_parity.json.gz"
    cases = {c: v for r in results.values() for c, v in r["cases"].items()}
    fc.write_gz_json(parity_out, {"forks": forks, "torch": torch.__version__, "cases": cases}, 1)
    for out in (keys_out, parity_out):
        print(f"wrote {out.relative_to(fc.ROOT)} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
