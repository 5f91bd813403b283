"""The cases of scripts/gpu_check.py: which configs, at which precision and points, with
the worst-case lengths `vitscfg estimate --no-data` would take."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / "tests" / "fixtures" / "shared_configs"
#: The config a fork is checked with when it has several (else the first by name).
PREFERRED = {
    "vits2": "p0p4k__vits2_pytorch__configs_vits2_ljs_base.json",
    "rvc": "RVC-Project__Retrieval-based-Voice-Conversion-WebUI__configs_v2_48k.json",
    "so-vits-svc": "svc-develop-team__so-vits-svc__configs_template_config_template.json",
    "mb-istft-vits": "MasayaKawamura__MB-iSTFT-VITS__configs_ljs_mb_istft_vits.json",
}
#: Fork configs vendored outside the shared set (forks the shared configs do not cover).
VENDORED = (
    ROOT
    / "tests"
    / "fixtures"
    / "unseen_configs"
    / "RVC-Boss__GPT-SoVITS__GPT_SoVITS_configs_s2.json",
)
#: Dialects the ljs_base and tiny cases already stand for.
PLAIN = {"vits", "vitscfg"}
#: (batch, which segment) of the two points: none is a probe of the --gpu plan (2, 4, 8,
#: 16, 32, ... at the config's segment; 4, 8 and two large batches at the far one).
POINTS = ((24, "config"), (12, "far"))
#: --smoke: probes of the plan (cached: the CPU steps are the slow part of the smoke).
SMOKE_POINTS = ((4, "config"), (8, "far"))
SMOKE_LENGTHS = (16, 24)  # text ids, frames: 24 x hop 128 > the far segment 2048
#: --smoke: the examples' configs made smaller still (a 2-core CPU runs each step in ~1 s).
SMOKE_MODEL = {
    "inter_channels": 16,
    "hidden_channels": 16,
    "filter_channels": 32,
    "n_layers": 1,
    "resblock_kernel_sizes": [3],
    "resblock_dilation_sizes": [[1, 3]],
    "upsample_initial_channel": 16,
    "discriminator_width": 0.0625,
}
SMOKE_SEGMENT = 1024


@dataclass(frozen=True)
class Case:
    name: str  # the table's label
    path: Path
    precision: str


def fork_config_paths() -> list[Path]:
    """The configs the fork cases are chosen from: the shared ones, then the vendored."""
    return [*sorted(SHARED.glob("*.json")), *VENDORED]


def fork_cases() -> list[Case]:
    """One shared config per dialect that vitscfg builds and steps exactly (support.py says
    "exact"), other than plain VITS; at the precision(s) its train section asks for."""
    from vitscfg.config.dialect import detect
    from vitscfg.config.typed import dialect_settings, precisions
    from vitscfg.model.support import model_support

    chosen: dict[str, Path] = {}
    for path in fork_config_paths():
        config = json.loads(path.read_text(encoding="utf-8"))
        dialect = detect(config).name
        if dialect in PLAIN or model_support(config, dialect).level != "exact":
            continue
        if dialect not in chosen or path.name == PREFERRED.get(dialect):
            chosen[dialect] = path
    cases = []
    for dialect, path in sorted(chosen.items()):
        config = json.loads(path.read_text(encoding="utf-8"))
        label = f"{dialect}: {path.stem.split('__')[-1]}"
        for p in precisions(dialect_settings(config, dialect)):
            cases.append(Case(label, path, p))
    return cases


def all_cases(smoke: bool) -> list[Case]:
    if smoke:
        return [
            Case("tiny", ROOT / "examples/tiny/config.json", "fp32"),
            Case("vits2: tiny_vits2", ROOT / "examples/tiny_vits2/config.json", "fp32"),
        ]
    # Order = priority under the time budget: what was never measured on a GPU first (bf16,
    # the tiny rows of the final plan, the forks), then ljs_base fp32/fp16 again.
    ljs = ROOT / "examples/ljs_base.json"
    return [
        Case("ljs_base", ljs, "bf16"),
        Case("tiny", ROOT / "examples/tiny/config.json", "fp32"),
        *fork_cases(),
        Case("ljs_base", ljs, "fp32"),
        Case("ljs_base", ljs, "fp16"),
    ]


@dataclass
class Plan:
    """A case's config as `vitscfg estimate --no-data` reads it."""

    case: Case
    step: Any  # vitscfg.estimate.trace.StepConfig
    lengths: Any  # vitscfg.estimate.data.Lengths
    batches: list[int]
    segments: list[int]
    points: list[tuple[int, int]]


def plan_case(case: Case, smoke: bool) -> Plan:
    from vitscfg.config.dialect import detect
    from vitscfg.estimate.data import cap_frames, limit_lengths, override
    from vitscfg.estimate.grid import default_batch_sizes, default_segment_sizes
    from vitscfg.estimate.trace import StepConfig
    from vitscfg.train.fork_steps import fork_step

    config = json.loads(case.path.read_text(encoding="utf-8"))
    dialect = detect(config).name
    if smoke:
        config["model"] = {**config["model"], **SMOKE_MODEL}
        config["train"] = {**config["train"], "segment_size": SMOKE_SEGMENT}
    step = StepConfig.of(config, dialect)
    fork = fork_step(dialect)
    lengths = cap_frames(limit_lengths(config, dialect), fork.max_frames if fork else None)
    if smoke:
        lengths = override(lengths, *SMOKE_LENGTHS)
    s0 = step.train.segment_size
    segments = default_segment_sizes(s0, int(config["data"]["hop_length"]))
    far = max(segments, key=lambda s: (abs(s - s0), s))
    points = [
        (b, s0 if which == "config" else far) for b, which in (SMOKE_POINTS if smoke else POINTS)
    ]
    return Plan(case, step, lengths, default_batch_sizes(step.train.batch_size), segments, points)
