#!/usr/bin/env python3
"""Regenerate the GPT-SoVITS s2 fixtures from a checkout of GPT-SoVITS's own code (never part
of this repo).

    git clone https://github.com/RVC-Boss/GPT-SoVITS /tmp/gsv
    git -C /tmp/gsv checkout 48b1a0169a28582a8984402f82cf438d3bfa6aca
    pip install --target /tmp/gsv_deps einops tqdm librosa   # what its model modules import
    PYTHONPATH=/tmp/gsv_deps .venv/bin/python scripts/fixtures_gpt_sovits.py --fork /tmp/gsv

Writes, with the fork's commit recorded in each file:

- ``tests/model/fixtures/gpt_sovits_keys.json.gz``: every state_dict key and shape of the
  fork's s2 generator and discriminator for the vendored s2 configs
  (tests/fixtures/unseen_configs/RVC-Boss__GPT-SoVITS__*s2*.json), for each version that
  config trains (s2.json: v1 and v2; s2v2Pro.json: v2Pro and v2ProPlus).
- ``tests/model/fixtures/gpt_sovits_parity.json.gz``: for the tiny configs of
  tests/model/gpt_sovits_golden.py, with weights seeded by key name: the generator's outputs,
  the discriminator's first logits and the losses of one training step in s2_train.py's
  order (D step with AdamW, then the generator's losses through the updated D), fp32.

The fork's models are built as s2_train.py builds them: ``SynthesizerTrn(filter_length // 2 +
1, segment_size // hop_length, n_speakers=data.n_speakers, **model)`` and
``MultiPeriodDiscriminator(use_spectral_norm, version=model.version)``. Its module package
imports the v3 decoder (f5_tts) at the top; this script stands in an empty module for it
(the s2 models of v1/v2/v2Pro never use it).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when imported as scripts.*
import fixture_common as fc  # noqa: E402

sys.path.insert(0, str(fc.ROOT))
CONFIGS = fc.ROOT / "tests" / "fixtures" / "unseen_configs"
FORK = "RVC-Boss/GPT-SoVITS"
#: vendored config -> the versions s2_train.py trains with it (the WebUI picks the file).
KEY_CASES = {
    "RVC-Boss__GPT-SoVITS__GPT_SoVITS_configs_s2.json": ("v1", "v2"),
    "RVC-Boss__GPT-SoVITS__GPT_SoVITS_configs_s2v2Pro.json": ("v2Pro", "v2ProPlus"),
}


def _fork_modules(fork: Path) -> dict[str, Any]:
    code = fork / "GPT_SoVITS"
    sys.path.insert(0, str(code))
    stub = types.ModuleType("f5_tts.model")
    stub.DiT = object  # type: ignore[attr-defined]
    sys.modules.setdefault("f5_tts", types.ModuleType("f5_tts"))
    sys.modules["f5_tts.model"] = stub
    from module import commons, losses, mel_processing, models

    return {"models": models, "commons": commons, "losses": losses, "mel": mel_processing}


def _build(fork: dict[str, Any], config: dict[str, Any]) -> tuple[Any, Any]:
    data, train, model = config["data"], config["train"], config["model"]
    models = fork["models"]
    net_g = models.SynthesizerTrn(
        data["filter_length"] // 2 + 1,
        train["segment_size"] // data["hop_length"],
        n_speakers=data.get("n_speakers", 0),
        **model,
    )
    net_d = models.MultiPeriodDiscriminator(model["use_spectral_norm"], version=model["version"])
    return net_g, net_d


def _write(name: str, body: dict[str, Any], commit: str) -> Path:
    payload = {"fork": FORK, "commit": commit, "generated_by": "scripts/fixtures_gpt_sovits.py"}
    return fc.write_gz_json(fc.FIXTURES / name, {**payload, **body})


def write_keys(fork: dict[str, Any], commit: str) -> Path:
    configs: dict[str, Any] = {}
    for name, versions in KEY_CASES.items():
        base = json.loads((CONFIGS / name).read_text())
        for version in versions:
            config = copy.deepcopy(base)
            config["model"]["version"] = version  # what the WebUI writes before training
            with torch.device("meta"):
                net_g, net_d = _build(fork, config)
            configs[f"{name}:{version}"] = {"G": fc.shapes(net_g), "D": fc.shapes(net_d)}
    return _write("gpt_sovits_keys.json.gz", {"configs": configs}, commit)


def parity_case(fork: dict[str, Any], case: str) -> dict[str, Any]:
    from tests.model.gpt_sovits_golden import (
        CODEBOOK_ROWS,
        FORWARD_SEED,
        QUANTIZED_CHANNELS,
        case_config,
        make_batch,
        seeded_weights,
    )

    commons, losses, mel = fork["commons"], fork["losses"], fork["mel"]
    floats = fc.floats
    config = case_config(case)
    train = config["train"]
    net_g, net_d = _build(fork, config)
    net_g.load_state_dict(seeded_weights(net_g), strict=True)
    net_d.load_state_dict(seeded_weights(net_d), strict=True)
    net_g.train()
    net_d.train()
    b = make_batch(config)

    torch.manual_seed(FORWARD_SEED)
    args = [b.ssl, b.spec, b.spec_lengths, b.text, b.text_lengths]
    if b.sv_emb is not None:
        args.append(b.sv_emb)
    y_hat, kl_ssl, ids, _, z_mask, lat, quantized = net_g(*args)
    z, z_p, m_p, logs_p, m_q, logs_q = lat
    codebook = net_g.quantizer.vq.layers[0]._codebook.embed.detach().clone()
    seg = fc.segments(mel, commons, config, b.spec, y_hat, ids, b.wave)
    y_hat_mel, wave = seg.y_hat_mel, seg.wave
    d_real, d_fake, _, _ = net_d(wave, y_hat.detach())
    loss_disc, _, _ = losses.discriminator_loss(d_real, d_fake)
    hyper = {"betas": train["betas"], "eps": train["eps"]}
    lr, low = train["learning_rate"], train["learning_rate"] * train["text_low_lr_rate"]
    low_ids = {
        id(p)
        for m in (net_g.enc_p.text_embedding, net_g.enc_p.encoder_text, net_g.enc_p.mrte)
        for p in m.parameters()
    }
    base = [p for p in net_g.parameters() if id(p) not in low_ids and p.requires_grad]
    optim_g = torch.optim.AdamW(
        [
            {"params": base, "lr": lr},
            {"params": net_g.enc_p.text_embedding.parameters(), "lr": low},
            {"params": net_g.enc_p.encoder_text.parameters(), "lr": low},
            {"params": net_g.enc_p.mrte.parameters(), "lr": low},
        ],
        lr,
        **hyper,
    )
    optim_d = torch.optim.AdamW(net_d.parameters(), lr, **hyper)
    optim_d.zero_grad()
    loss_disc.backward()
    optim_d.step()
    _, d_fake2, fmap_r, fmap_g = net_d(wave, y_hat)
    g = fc.gen_losses(losses, train, seg, lat, z_mask, d_fake2, fmap_r, fmap_g)
    loss_gen_all = g.total() + kl_ssl * 1 + g.kl  # s2_train.py's order of the terms
    optim_g.zero_grad()
    loss_gen_all.backward()
    optim_g.step()

    outputs = {
        "audio": floats(y_hat),
        "ids_slice": ids.tolist(),
        # Summaries where the whole tensor would make the file large (768-d, 1024 codes).
        "quantized": floats(quantized[:, :QUANTIZED_CHANNELS]),
        "codebook_rows": floats(codebook[:CODEBOOK_ROWS]),
        "codebook_sum": float(codebook.double().sum()),
        **{
            n: floats(t)
            for n, t in zip(("z", "z_p", "m_p", "logs_p", "m_q", "logs_q"), lat, strict=True)
        },
        "y_hat_mel": floats(y_hat_mel),
        "d_real": [floats(t) for t in d_real],
        "d_fake": [floats(t) for t in d_fake],
    }
    return {
        "case": case,
        "outputs": outputs,
        "losses": {
            "disc": loss_disc.item(),
            "gen": g.gen.item(),
            "fm": g.fm.item(),
            "mel": g.mel.item(),
            "kl": g.kl.item(),
            "kl_ssl": float(kl_ssl),
            "gen_all": loss_gen_all.item(),
        },
    }


def write_parity(fork: dict[str, Any], commit: str) -> Path:
    from tests.model.gpt_sovits_golden import CASES

    return _write(
        "gpt_sovits_parity.json.gz", {"cases": [parity_case(fork, c) for c in CASES]}, commit
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fork", type=Path, required=True, help="GPT-SoVITS checkout")
    args = parser.parse_args()
    commit = fc.git_commit(args.fork)
    # The fork's codebook asks for its process-group rank when it restarts unused codes.
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29561")
    dist.init_process_group("gloo", rank=0, world_size=1)
    torch.set_num_threads(1)  # bit-stable sums
    fork = _fork_modules(args.fork)
    print(write_keys(fork, commit))
    print(write_parity(fork, commit))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
