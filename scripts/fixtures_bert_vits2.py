#!/usr/bin/env python3
"""Regenerate the Bert-VITS2-family fixtures from checkouts of the forks (never part of this repo).

    git clone https://github.com/fishaudio/Bert-VITS2 /tmp/bv2
    git -C /tmp/bv2 checkout 8f7fbd8c4770965225d258db548da27dc8dd934c
    git clone https://github.com/litagin02/Style-Bert-VITS2 /tmp/sbv2
    git -C /tmp/sbv2 checkout 66de777e06392c0f313600be03c43ef96658b244
    git clone https://github.com/myshell-ai/MeloTTS /tmp/melo
    git -C /tmp/melo checkout 209145371cff8fc3bd60d7be902ea69cbdb7965a
    python scripts/fixtures_bert_vits2.py --bert-vits2 /tmp/bv2 --style-bert-vits2 /tmp/sbv2 \
        --melotts /tmp/melo

Run it with a Python that has torch and numba (the forks' alignment search). Text front-end
packages the model files import but never use to build a network (BERT tokenizers, ONNX
runtime, Hugging Face hub) are replaced by empty stand-in modules.

Writes, with each fork's commit recorded:

- ``tests/model/fixtures/bert_vits2_keys.json.gz``: every state_dict key and shape of "G",
  "D", "DurDisc" and "WavLMDisc" as each fork's train script builds them, for the shipped
  configs (see ``CASES``) and variants (no speakers: reference encoder; no transformer flow).
- ``tests/model/fixtures/bert_vits2_parity.json.gz``: for each tiny case of
  tests/model/bert_vits2_golden.py, with weights seeded by key name and the global generator
  seeded before the forward pass, the generator's outputs and the discriminators' outputs.
- ``tests/model/fixtures/bert_vits2_step.json.gz``: for each case of
  tests/model/bert_step_golden.py, one training step written as the fork's train script's
  loop body (Bert-VITS2 train_ms.py, Style-Bert-VITS2 train_ms.py / train_ms_jp_extra.py,
  MeloTTS melo/train.py) with the fork's own networks, losses, commons and mel functions:
  every logged loss and each network's gradient norm. What differs from the scripts (all
  on both sides of the comparison): networks in eval mode (no dropout masks to replay),
  fp32 without a grad scaler, no DDP, and the frozen WavLM: the fork's ``WavLMLoss`` is used
  with its Hugging Face model replaced by vitscfg's WavLM at the config's ``model.slm``
  sizes with seeded weights (transformers is not needed; the golden checks the step's use
  of WavLM, not WavLM itself).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import gzip
import importlib
import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT / "tests" / "fixtures" / "shared_configs"
UNSEEN = ROOT / "tests" / "fixtures" / "unseen_configs"
FIXTURES = ROOT / "tests" / "model" / "fixtures"

#: Modules the forks' model files import for their text front-ends only.
_STUBS = ("onnxruntime", "huggingface_hub", "transformers", "jieba", "pyopenjtalk")

#: fork -> (repository, module holding SynthesizerTrn for each variant).
FORKS = {
    "bert-vits2": "fishaudio/Bert-VITS2",
    "style-bert-vits2": "litagin02/Style-Bert-VITS2",
    "melotts": "myshell-ai/MeloTTS",
}

#: key-fixture case -> (fork, config file, changes to the config).
CASES: dict[str, tuple[str, Path, dict[str, Any]]] = {
    "bert-vits2": ("bert-vits2", SHARED / "fishaudio__Bert-VITS2__configs_config.json", {}),
    "bert-vits2-wavenet-flow": (
        "bert-vits2",
        SHARED / "fishaudio__Bert-VITS2__configs_config.json",
        {"model.use_transformer_flow": False, "model.use_duration_discriminator": False},
    ),
    "style-bert-vits2": (
        "style-bert-vits2",
        UNSEEN / "litagin02__Style-Bert-VITS2__configs_config.json",
        {},
    ),
    "style-bert-vits2-jp-extra": (
        "style-bert-vits2",
        UNSEEN / "litagin02__Style-Bert-VITS2__configs_config_jp_extra.json",
        {},
    ),
    "style-bert-vits2-jp-extra-durdisc": (
        "style-bert-vits2",
        UNSEEN / "litagin02__Style-Bert-VITS2__configs_config_jp_extra.json",
        {"model.use_duration_discriminator": True},
    ),
    "melotts": ("melotts", SHARED / "myshell-ai__MeloTTS__melo_configs_config.json", {}),
    "melotts-8-speakers": (
        "melotts",
        SHARED / "myshell-ai__MeloTTS__melo_configs_config.json",
        {"data.n_speakers": 8},
    ),
    "melotts-refenc": (
        "melotts",
        SHARED / "myshell-ai__MeloTTS__melo_configs_config.json",
        {"data.n_speakers": 0, "model.use_spk_conditioned_encoder": False},
    ),
}


class _Stub(types.ModuleType):
    """An importable stand-in: any attribute is another stand-in (classes, functions)."""

    __path__: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Stub(f"{self.__name__}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _Stub(self.__name__)


def _stub_front_ends() -> None:
    for name in _STUBS:
        sys.modules.setdefault(name, _Stub(name))


def apply_changes(config: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(config)
    for path, value in changes.items():
        section, key = path.split(".")
        config[section][key] = value
    return config


class Fork:
    """One fork's model module(s), imported from a checkout."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        self.commit = (
            subprocess.run(
                ["git", "-C", str(path), "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            or (path / "COMMIT").read_text().strip()
        )
        _stub_front_ends()
        for key in [k for k in sys.modules if k.split(".")[0] in _FORK_TOP_LEVEL]:
            del sys.modules[key]  # each fork has its own models/commons/modules/attentions
        if name == "melotts":
            sys.path.insert(0, str(path))
            self.models = importlib.import_module("melo.models")
            self.jp_extra = self.models
            # train.py (run inside melo/) takes these from its text package's symbol table.
            self.symbols = importlib.import_module("melo.text.symbols")
        elif name == "style-bert-vits2":
            sys.path.insert(0, str(path))
            self.models = importlib.import_module("style_bert_vits2.models.models")
            self.jp_extra = importlib.import_module("style_bert_vits2.models.models_jp_extra")
        else:
            sys.path.insert(0, str(path))
            self.models = importlib.import_module("models")
            self.jp_extra = self.models
        sys.path.remove(str(path))

    def nets(self, config: dict[str, Any]) -> dict[str, torch.nn.Module]:
        """The networks, as the fork's train script builds them from ``config``."""
        data, model, train = config["data"], config["model"], config["train"]
        jp_extra = self.name == "style-bert-vits2" and bool(data.get("use_jp_extra"))
        m = self.jp_extra if jp_extra else self.models
        kwargs = dict(model)
        if self.name == "style-bert-vits2":
            # train_ms*.py pass only the keys its hyper-parameter model knows (no flow sizes).
            kwargs = {k: v for k, v in kwargs.items() if k not in _SBV2_UNPASSED}
        if self.name == "melotts":
            kwargs.setdefault("num_languages", self.symbols.num_languages)
            kwargs.setdefault("num_tones", self.symbols.num_tones)
        n_speakers = data["n_speakers"]
        noise = model.get("use_noise_scaled_mas") is True
        nets: dict[str, torch.nn.Module] = {
            "G": m.SynthesizerTrn(
                len(_symbols(self.symbols if self.name == "melotts" else m)),
                data["filter_length"] // 2 + 1,
                train["segment_size"] // data["hop_length"],
                n_speakers=n_speakers,
                mas_noise_scale_initial=0.01 if noise else 0.0,
                noise_scale_delta=2e-6 if noise else 0.0,
                **kwargs,
            ),
            "D": m.MultiPeriodDiscriminator(model["use_spectral_norm"]),
        }
        if model.get("use_duration_discriminator") is True:
            h = model["hidden_channels"]
            gin = model["gin_channels"] if n_speakers != 0 else 0
            nets["DurDisc"] = m.DurationDiscriminator(h, h, 3, 0.1, gin_channels=gin)
        wavlm = self.name == "bert-vits2" or (jp_extra and model.get("use_wavlm_discriminator"))
        if wavlm:
            slm = model["slm"]
            nets["WavLMDisc"] = m.WavLMDiscriminator(
                slm["hidden"], slm["nlayers"], slm["initial_channel"]
            )
        return nets


_FORK_TOP_LEVEL = {"models", "commons", "modules", "attentions", "transforms", "text", "utils"}
_FORK_TOP_LEVEL |= {"monotonic_align", "melo", "style_bert_vits2", "config"}
_SBV2_UNPASSED = {"n_flow_layer", "n_layers_trans_flow", "flow_share_parameter"}


def _symbols(module: Any) -> list[str]:
    return list(getattr(module, "SYMBOLS", None) or module.symbols)


def keys_of(nets: dict[str, torch.nn.Module]) -> dict[str, dict[str, list[int]]]:
    return {
        name: {k: list(v.shape) for k, v in net.state_dict().items()} for name, net in nets.items()
    }


def write_keys(forks: dict[str, Fork]) -> Path:
    cases: dict[str, Any] = {}
    for case, (fork_name, path, changes) in CASES.items():
        fork = forks[fork_name]
        config = apply_changes(json.loads(path.read_text()), changes)
        cases[case] = {
            "fork": fork_name,
            "config": str(path.relative_to(ROOT)),
            "changes": changes,
            "nets": keys_of(fork.nets(config)),
        }
        print(case, {k: len(v) for k, v in cases[case]["nets"].items()})
    out = FIXTURES / "bert_vits2_keys.json.gz"
    _write(out, {"commits": _commits(forks), "cases": cases})
    return out


def _floats(t: torch.Tensor) -> dict[str, Any]:
    t = t.detach().float()
    return {"shape": list(t.shape), "data": [round(v, 7) for v in t.flatten().tolist()]}


def parity_case(fork: Fork, case: str) -> dict[str, Any]:
    """The fork's outputs for one tiny case (see tests/model/bert_vits2_golden.py)."""
    from tests.model import bert_vits2_golden as golden
    from tests.model.vits2_golden import seeded_state

    config = golden.case_config(case)
    nets = fork.nets(config)
    for net in nets.values():
        net.load_state_dict(seeded_state(net), strict=True)
        net.eval()
    b = golden.make_batch(case)
    g_net: Any = nets["G"]  # the fork's class, untyped
    g_net.current_mas_noise_scale = golden.MAS_NOISE
    side: list[Any] = list(b.berts) + ([b.style] if b.style is not None else [])
    torch.manual_seed(golden.SEED)
    out = g_net(b.text, b.text_lengths, b.spec, b.spec_lengths, b.sid, b.tone, b.language, *side)
    o, l_length, attn, ids_slice = out[0], out[1], out[2], out[3]
    z, z_p, m_p, logs_p, m_q, logs_q = out[6]
    hidden_x, logw, logw_target = out[7][:3]
    result: dict[str, Any] = {
        "audio": _floats(o),
        "dur_loss": _floats(l_length),
        "durations": _floats(attn.sum(2)),
        "ids_slice": ids_slice.tolist(),
        "z": _floats(z),
        "z_p": _floats(z_p),
        "m_p": _floats(m_p),
        "logs_p": _floats(logs_p),
        "m_q": _floats(m_q),
        "logs_q": _floats(logs_q),
        "hidden_x": _floats(hidden_x),
        "logw": _floats(logw),
        "logw_target": _floats(logw_target),
    }
    if len(out[7]) > 3:
        result["logw_sdp"] = _floats(out[7][3])
    g = out[8] if len(out) > 8 else None
    if "DurDisc" in nets:
        x_mask = out[4]
        if g is None:  # the script recomputes the speaker vector the generator used
            g = g_net.emb_g(b.sid).unsqueeze(-1) if g_net.n_speakers > 0 else None
            if g is None:
                g = g_net.ref_enc(b.spec.transpose(1, 2)).unsqueeze(-1)
        cond = g if hasattr(nets["DurDisc"], "cond") else None
        probs = nets["DurDisc"](hidden_x, x_mask, logw_target, logw, cond)
        result["dur_disc"] = [_floats(p) for p in probs]
    if "WavLMDisc" in nets:
        result["wavlm_disc"] = _floats(nets["WavLMDisc"](b.slm))
    if case == "bert-vits2":
        y_d_rs, y_d_gs, _, _ = nets["D"](b.wave, o.detach())
        result["d_real"] = [_floats(t) for t in y_d_rs]
        result["d_fake"] = [_floats(t) for t in y_d_gs]
    return result


def write_parity(forks: dict[str, Fork]) -> Path:
    from tests.model import bert_vits2_golden as golden

    cases = {}
    for case, (dialect, _) in golden.PARITY_CASES.items():
        cases[case] = parity_case(forks[dialect], case)
        print(case, sorted(cases[case]))
    out = FIXTURES / "bert_vits2_parity.json.gz"
    _write(out, {"commits": _commits(forks), "cases": cases})
    return out


def _fork_module(fork: Fork, name: str) -> Any:
    """A module of the fork's train script (losses, commons, mel_processing), imported from
    the checkout (each fork has its own modules of these names)."""
    where = {
        ("melotts", "losses"): "melo.losses",
        ("melotts", "commons"): "melo.commons",
        ("melotts", "mel_processing"): "melo.mel_processing",
        ("style-bert-vits2", "commons"): "style_bert_vits2.models.commons",
    }.get((fork.name, name), name)
    for key in [k for k in sys.modules if k == name]:
        del sys.modules[key]
    sys.path.insert(0, str(fork.path))
    try:
        module = importlib.import_module(where)
    finally:
        sys.path.remove(str(fork.path))
    if name == "mel_processing":
        # The forks call librosa's mel() positionally, which librosa >= 0.10 refuses: the
        # same call with keywords (what the forks' pinned librosa did).
        from librosa.filters import mel

        def mel_fn(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> Any:
            return mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)

        module.librosa_mel_fn = mel_fn
    return module


class _WavLMAdapter(torch.nn.Module):
    """Hugging Face's call convention around vitscfg's WavLM (see the module doc)."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        from vitscfg.model.bert_slm import build_slm_judge

        self.model = build_slm_judge(config).wavlm

    def forward(self, input_values: torch.Tensor, output_hidden_states: bool) -> Any:
        return types.SimpleNamespace(hidden_states=tuple(self.model(input_values)))


def _wavlm_loss(losses: Any, head: torch.nn.Module, config: dict[str, Any]) -> Any:
    import torchaudio

    wl = losses.WavLMLoss.__new__(losses.WavLMLoss)
    torch.nn.Module.__init__(wl)
    wl.wavlm = _WavLMAdapter(config).eval().requires_grad_(False)  # seed_wavlm: its weights
    wl.wd = head
    wl.resample = torchaudio.transforms.Resample(
        config["data"]["sampling_rate"], config["model"]["slm"]["sr"]
    )
    return wl


def fork_step_case(fork: Fork, case: str) -> dict[str, Any]:
    """One step of the fork's train script on the case (see the module doc)."""
    from tests.model import bert_step_golden as sg
    from tests.model import bert_vits2_golden as golden
    from tests.model.golden import seeded_state

    config = sg.step_config(case)
    nets = fork.nets(config)
    for net in nets.values():
        net.load_state_dict(seeded_state(net), strict=True)
        net.eval()
    opts = {
        k: torch.optim.AdamW(n.parameters(), sg.LR, betas=sg.BETAS, eps=sg.EPS)
        for k, n in nets.items()
    }
    modules = ForkStepModules.of(fork)
    wl = None
    if "WavLMDisc" in nets:
        wl = _wavlm_loss(modules.losses, nets["WavLMDisc"], config)
        seed_wavlm(wl)
    torch.manual_seed(golden.SEED)
    out, norms = fork_train_step(
        fork, modules, config, nets, opts, wl, sg.step_inputs(case, config), golden.MAS_NOISE
    )
    return {
        "losses": {k: float(v) for k, v in out.items()},
        "grad_norms": {k: float(v) for k, v in norms.items()},
    }


@dataclasses.dataclass
class ForkStepModules:
    """The modules a fork's train script takes its step's helpers from."""

    losses: Any
    commons: Any
    mel: Any

    @classmethod
    def of(cls, fork: Fork) -> ForkStepModules:
        names = ("losses", "commons", "mel_processing")
        return cls(*(_fork_module(fork, name) for name in names))


def seed_wavlm(wl: Any) -> None:
    from tests.model.golden import seeded_state

    model = wl.wavlm.model
    model.load_state_dict(seeded_state(model), strict=True)


def fork_train_step(
    fork: Fork,
    modules: ForkStepModules,
    config: dict[str, Any],
    nets: dict[str, torch.nn.Module],
    opts: dict[str, torch.optim.Optimizer],
    wl: Any,
    b: dict[str, Any],
    mas_noise: float,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The fork's train-script loop body (fp32, no DDP) on batch ``b`` (the keys of
    ``bert_step_golden.step_inputs``): its losses and gradient norms."""
    data, train = config["data"], config["train"]
    losses_m, commons, mel_m = modules.losses, modules.commons, modules.mel
    jp_extra = fork.name == "style-bert-vits2" and data.get("use_jp_extra") is True
    net_g: Any = nets["G"]
    net_d, net_dd = nets["D"], nets.get("DurDisc")
    side = list(b["berts"]) + ([b["style"]] if b["style"] is not None else [])
    net_g.current_mas_noise_scale = mas_noise
    hop, segment = data["hop_length"], train["segment_size"]
    discriminator_loss, generator_loss = losses_m.discriminator_loss, losses_m.generator_loss
    out: dict[str, torch.Tensor] = {}
    norms: dict[str, Any] = {}

    def update(name: str, loss: torch.Tensor, clip: float | None = None) -> None:
        opts[name].zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(parameters=nets[name].parameters(), max_norm=clip)
        norms[name] = commons.clip_grad_value_(nets[name].parameters(), None)
        opts[name].step()

    o = net_g(
        b["text"], b["text_lengths"], b["spec"], b["spec_lengths"], b["sid"],
        b["tone"], b["language"], *side,
    )  # fmt: skip
    y_hat, l_length, _, ids_slice, x_mask, z_mask = o[:6]
    z, z_p, m_p, logs_p, m_q, logs_q = o[6]
    hidden_x, logw, logw_ = o[7][:3]
    logw_sdp = o[7][3] if len(o[7]) > 3 else None
    g = o[8] if len(o) > 8 else None
    mel = mel_m.spec_to_mel_torch(
        b["spec"], data["filter_length"], data["n_mel_channels"], data["sampling_rate"],
        data["mel_fmin"], data["mel_fmax"],
    )  # fmt: skip
    y_mel = commons.slice_segments(mel, ids_slice, segment // hop)
    y_hat_mel = mel_m.mel_spectrogram_torch(
        y_hat.squeeze(1).float(), data["filter_length"], data["n_mel_channels"],
        data["sampling_rate"], hop, data["win_length"], data["mel_fmin"], data["mel_fmax"],
    )  # fmt: skip
    y = commons.slice_segments(b["wav"], ids_slice * hop, segment)
    y_d_hat_r, y_d_hat_g, _, _ = net_d(y, y_hat.detach())
    out["d/total"] = loss_disc = discriminator_loss(y_d_hat_r, y_d_hat_g)[0]
    if net_dd is not None:
        if fork.name == "bert-vits2":
            r1, g1 = net_dd(
                hidden_x.detach(), x_mask.detach(), logw_.detach(), logw.detach(), g.detach()
            )
            r2, g2 = net_dd(
                hidden_x.detach(), x_mask.detach(), logw_.detach(), logw_sdp.detach(), g.detach()
            )
            y_dur_hat_r, y_dur_hat_g = r1 + r2, g1 + g2
        elif jp_extra:
            y_dur_hat_r, y_dur_hat_g = net_dd(
                hidden_x.detach(), x_mask.detach(), logw_.detach(), logw.detach(), g.detach()
            )
        else:  # Style-Bert-VITS2 train_ms.py, MeloTTS train.py
            y_dur_hat_r, y_dur_hat_g = net_dd(
                hidden_x.detach(), x_mask.detach(), logw.detach(), logw_.detach()
            )
        out["dur_disc/total"] = loss_dd = discriminator_loss(y_dur_hat_r, y_dur_hat_g)[0]
        update("DurDisc", loss_dd)
    if wl is not None and jp_extra:
        out["wd/total"] = loss_slm = wl.discriminator(
            y.detach().squeeze(1), y_hat.detach().squeeze(1)
        ).mean()
        update("WavLMDisc", loss_slm)
    update("D", loss_disc)
    if wl is not None and fork.name == "bert-vits2":
        out["wd/total"] = loss_slm = wl.discriminator(
            y.detach().squeeze(), y_hat.detach().squeeze()
        ).mean()
        update("WavLMDisc", loss_slm)
    _, y_d_hat_g, fmap_r, fmap_g = net_d(y, y_hat)
    if net_dd is not None:
        if fork.name == "bert-vits2":
            _, g1 = net_dd(hidden_x, x_mask, logw_, logw, g)
            _, g2 = net_dd(hidden_x, x_mask, logw_, logw_sdp, g)
            y_dur_hat_g = g1 + g2
        elif jp_extra:
            _, y_dur_hat_g = net_dd(hidden_x, x_mask, logw_, logw, g)
        else:
            _, y_dur_hat_g = net_dd(hidden_x, x_mask, logw, logw_)
    if wl is not None:
        squeeze = (lambda t: t.squeeze()) if fork.name == "bert-vits2" else (lambda t: t.squeeze(1))
        out["g/lm"] = wl(squeeze(y.detach()), squeeze(y_hat)).mean()
        out["g/lm_gen"] = wl.generator(squeeze(y_hat))
    out["g/dur"] = torch.sum(l_length.float())
    out["g/mel"] = torch.nn.functional.l1_loss(y_mel, y_hat_mel) * train["c_mel"]
    out["g/kl"] = losses_m.kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * train["c_kl"]
    out["g/fm"] = losses_m.feature_loss(fmap_r, fmap_g)
    out["g/gen"] = generator_loss(y_d_hat_g)[0]
    total = out["g/gen"] + out["g/fm"] + out["g/mel"] + out["g/dur"] + out["g/kl"]
    if wl is not None and fork.name == "bert-vits2":
        total = total + out["g/lm"] + out["g/lm_gen"]
    if net_dd is not None:
        out["g/dur_gen"] = generator_loss(y_dur_hat_g)[0]
        if wl is not None and jp_extra:
            total = total + (out["g/dur_gen"] + out["g/lm"] + out["g/lm_gen"])
        else:
            total = total + out["g/dur_gen"]
    out["g/total"] = total
    update("G", total, 500.0 if jp_extra else None)
    return out, norms


def write_step(forks: dict[str, Fork]) -> Path:
    from tests.model import bert_step_golden as sg
    from tests.model import bert_vits2_golden as golden

    cases = {}
    for case in sg.CASES:
        cases[case] = fork_step_case(forks[golden.PARITY_CASES[case][0]], case)
        print(case, cases[case])
    out = FIXTURES / "bert_vits2_step.json.gz"
    _write(out, {"commits": _commits(forks), "cases": cases})
    return out


def _commits(forks: dict[str, Fork]) -> dict[str, str]:
    return {name: f"{FORKS[name]}@{fork.commit}" for name, fork in forks.items()}


def _write(path: Path, payload: dict[str, Any]) -> None:
    data = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in FORKS:
        parser.add_argument(f"--{name}", type=Path, required=True, help=f"{FORKS[name]} checkout")
    parser.add_argument("--skip-parity", action="store_true")
    parser.add_argument("--only-step", action="store_true", help="write the step golden only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    # AdamW imports torch._dynamo, which probes optional packages by spec: import it before
    # the front-end stand-ins (which have none) are installed.
    importlib.import_module("torch._dynamo")

    forks: dict[str, Fork] = {}
    for name in FORKS:
        forks[name] = Fork(name, getattr(args, name.replace("-", "_")))
    if not args.only_step:
        print("wrote", write_keys(forks))
    if not (args.skip_parity or args.only_step):
        print("wrote", write_parity(forks))
    print("wrote", write_step(forks))


if __name__ == "__main__":
    main()
