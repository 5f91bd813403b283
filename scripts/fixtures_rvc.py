#!/usr/bin/env python3
"""Regenerate the RVC fixtures from a checkout of RVC's own code (never part of this repo).

    git clone https://github.com/RVC-Project/Retrieval-based-Voice-Conversion-WebUI /tmp/rvc
    git -C /tmp/rvc checkout 4338f12c3c28c80b3ac015e2d0df66c41592746d
    python -m venv /tmp/rvcenv && /tmp/rvcenv/bin/pip install torch==2.9.1 scipy librosa numpy
    /tmp/rvcenv/bin/python scripts/fixtures_rvc.py --fork /tmp/rvc

Writes, with the fork's commit recorded in each file:

- ``tests/model/fixtures/rvc_keys.json.gz``: every state_dict key and shape of RVC's
  generator (with and without f0) and discriminator for each shared RVC config
  (tests/fixtures/shared_configs/RVC-Project__*.json; the version, v1 or v2, is the config's
  folder in RVC). Gzipped JSON (10 generators of ~600 keys): ``zcat`` reads it.
- ``tests/model/fixtures/rvc_parity.json``: for the tiny config of tests/model/rvc_golden.py,
  v2 with f0 and v1 without, with weights seeded by key name: the random draws RVC's
  generator made (replayed by the test), its outputs (audio, NSF source, latents), the
  discriminator's logits, and the losses of one training step computed in train/train.py's
  order (D step with AdamW, then the generator's losses through the updated D).

RVC builds its models as train/train.py does: ``SynthesizerTrnMs{256,768}NSFsid[_nono](
filter_length // 2 + 1, segment_size // hop_length, **model, is_half=False, sr=...)`` and
``MultiPeriodDiscriminator`` (v1) or ``MultiPeriodDiscriminatorV2`` (v2).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when imported as scripts.*
import fixture_common as fc  # noqa: E402

FORK = "RVC-Project/Retrieval-based-Voice-Conversion-WebUI"


def _fork_models(fork: Path) -> tuple[Any, Any, Any, Any]:
    sys.path.insert(0, str(fork))
    from infer.module import commons, models
    from train import losses, mel_processing

    return models, commons, losses, mel_processing


def _build(models: Any, config: dict[str, Any], version: str, f0: bool) -> tuple[Any, Any]:
    data, train, model = config["data"], config["train"], config["model"]
    width = "768" if version == "v2" else "256"
    cls_g = getattr(models, f"SynthesizerTrnMs{width}NSFsid" + ("" if f0 else "_nono"))
    extra: dict[str, Any] = {"sr": data["sampling_rate"]} if f0 else {}
    net_g = cls_g(
        data["filter_length"] // 2 + 1,
        train["segment_size"] // data["hop_length"],
        **model,
        is_half=False,
        **extra,
    )
    cls_d = (
        models.MultiPeriodDiscriminatorV2 if version == "v2" else models.MultiPeriodDiscriminator
    )
    return net_g, cls_d(model["use_spectral_norm"])


def write_keys(models: Any, commit: str) -> Path:
    configs: dict[str, Any] = {}
    for path in sorted(fc.CONFIGS.glob("RVC-Project__*.json")):
        config = json.loads(path.read_text())
        version = "v2" if "_v2_" in path.name else "v1"
        entry: dict[str, Any] = {"version": version}
        for f0 in (True, False):
            with torch.device("meta"):
                net_g, net_d = _build(models, config, version, f0)
            entry["G_f0" if f0 else "G_nof0"] = fc.shapes(net_g)
            entry["D"] = fc.shapes(net_d)
        configs[path.name] = entry
    payload = {"fork": FORK, "commit": commit, "generated_by": "scripts/fixtures_rvc.py"}
    return fc.write_gz_json(fc.FIXTURES / "rvc_keys.json.gz", {**payload, "configs": configs})


def parity_case(fork: tuple[Any, Any, Any, Any], version: str, f0: bool) -> dict[str, Any]:
    from tests.model.rvc_golden import TINY_RVC_CONFIG, Draws, make_batch, recording, seeded_state

    models, commons, losses, mel = fork
    config = copy.deepcopy(TINY_RVC_CONFIG)
    train = config["train"]
    net_g, net_d = _build(models, config, version, f0)
    net_g.load_state_dict(seeded_state(net_g), strict=True)
    net_d.load_state_dict(seeded_state(net_d), strict=True)
    net_g.train()
    net_d.train()
    b = make_batch(version)

    sources: list[torch.Tensor] = []
    if f0:
        net_g.dec.m_source.register_forward_hook(lambda m, i, o: sources.append(o[0].detach()))
    draws = Draws()
    with recording(draws):
        if f0:
            y_hat, ids, x_mask, z_mask, lat = net_g(
                b.phone, b.phone_lengths, b.pitch, b.pitchf, b.spec, b.spec_lengths, b.sid
            )
        else:
            y_hat, ids, x_mask, z_mask, lat = net_g(
                b.phone, b.phone_lengths, b.spec, b.spec_lengths, b.sid
            )
    # train/train.py's step, in its order.
    seg = fc.segments(mel, commons, config, b.spec, y_hat, ids, b.wave)
    d_real, d_fake, _, _ = net_d(seg.wave, y_hat.detach())
    loss_disc, _, _ = losses.discriminator_loss(d_real, d_fake)
    optim_g, optim_d = fc.adamw(net_g, train), fc.adamw(net_d, train)
    optim_d.zero_grad()
    loss_disc.backward()
    optim_d.step()
    _, d_fake2, fmap_r, fmap_g = net_d(seg.wave, y_hat)
    g = fc.gen_losses(losses, train, seg, lat, z_mask, d_fake2, fmap_r, fmap_g)
    loss_gen_all = g.total() + g.kl
    optim_g.zero_grad()
    loss_gen_all.backward()
    optim_g.step()

    outputs = {
        "audio": fc.floats(y_hat),
        "ids_slice": ids.tolist(),
        **{
            n: fc.floats(t)
            for n, t in zip(("z", "z_p", "m_p", "logs_p", "m_q", "logs_q"), lat, strict=True)
        },
        "y_hat_mel": fc.floats(seg.y_hat_mel),
        "d_real": [fc.floats(t) for t in d_real],
        "d_fake": [fc.floats(t) for t in d_fake],
    }
    if f0:
        outputs["source"] = fc.floats(sources[0])
    return {
        "version": version,
        "f0": f0,
        "draws": draws.to_json(),
        "outputs": outputs,
        "losses": {
            "disc": loss_disc.item(),
            "gen": g.gen.item(),
            "fm": g.fm.item(),
            "mel": g.mel.item(),
            "kl": g.kl.item(),
            "gen_all": loss_gen_all.item(),
        },
    }


def write_parity(fork: tuple[Any, Any, Any, Any], commit: str) -> Path:
    from tests.model.rvc_golden import PARITY_VARIANTS

    cases = [parity_case(fork, version, f0) for version, f0 in PARITY_VARIANTS]
    out = fc.FIXTURES / "rvc_parity.json"
    payload = {"fork": FORK, "commit": commit, "generated_by": "scripts/fixtures_rvc.py"}
    out.write_text(json.dumps({**payload, "torch": torch.__version__, "cases": cases}) + "\n")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fork", type=Path, required=True, help="checkout of " + FORK)
    args = parser.parse_args()
    commit = fc.git_commit(args.fork)
    sys.path.insert(0, str(fc.ROOT))
    fork = _fork_models(args.fork.resolve())
    torch.set_grad_enabled(True)
    for path in (write_keys(fork[0], commit), write_parity(fork, commit)):
        print(
            f"wrote {path.relative_to(fc.ROOT)} ({path.stat().st_size} bytes) from {FORK}@{commit}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
