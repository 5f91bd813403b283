"""Mutation recall and noise of `vitscfg check` on real configs it was not written against.

Why: a linter is judged on two numbers. Recall: of the edits that really break a
config in its fork (a typo in a key the trainer reads, a wrong type, a value out of
range, broken STFT/generator arithmetic), how many does `check` flag? Noise: of the
edits that change nothing that matters (key order, another seed, another valid
batch size or learning rate) and of the unmutated files, how many get a new finding?
Issue 15's bars: recall >= 0.97, noise <= 0.03.

Each config of tests/fixtures/unseen_configs (README: its dialect) is re-serialised
in its own format (JSON or YAML) as the baseline; every mutant is checked (no data
checks) and compared with that baseline. A breaking mutant counts as flagged when it
gets a new warning or error; a harmless one is noise when it gets any new finding.
Breaking mutants of files whose dialect is `unknown` are only those that break in
any fork (types, ranges and hop arithmetic on VITS-named keys): what else breaks
there depends on a trainer vitscfg does not know.

Usage: .venv/bin/python bench/mutation_recall.py [--folder DIR] [--sample N] [--seed S]
       [--show-misses K]      (exit 1 when a bar is missed or check crashed)
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vitscfg.config.compiled import load_compiled  # noqa: E402
from vitscfg.config.load import load_bytes  # noqa: E402
from vitscfg.config.pipeline import filled_by  # noqa: E402
from vitscfg.config.synonyms import canonical  # noqa: E402
from vitscfg.lint.run import CheckOptions, check_document  # noqa: E402

FOLDER = REPO / "tests" / "fixtures" / "unseen_configs"
RECALL_BAR, NOISE_BAR = 0.97, 0.03
SECTIONS = ("train", "data", "model")
Key = tuple[str, str, str]  # (code, pointer, severity)


@dataclass(frozen=True)
class Mutant:
    kind: str  # e.g. "typo", "delete", "type", "range", "hop", "order", ...
    breaking: bool
    where: str  # "section.key"
    config: dict[str, Any]


def expected_dialects(folder: Path) -> dict[str, str]:
    text = (folder / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| `([^`]+)` \|[^|]*\|[^|]*\| ([a-z0-9-]+) \|", text, re.M))


def dump(config: dict[str, Any], suffix: str) -> bytes:
    if suffix == ".json":
        return json.dumps(config, indent=2, ensure_ascii=False).encode("utf-8")
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True).encode("utf-8")


def findings(config: dict[str, Any], suffix: str) -> set[Key]:
    doc = load_bytes(dump(config, suffix), f"mutant{suffix}")
    result = check_document(doc, CheckOptions(check_data=False))
    return {(d.code, d.pointer, d.severity.value) for d in result.diagnostics}


def _typos(key: str, rng: random.Random) -> list[str]:
    """Three realistic misspellings: swapped, dropped and doubled letters."""
    if len(key) < 4:
        return []
    i = rng.randrange(1, len(key) - 2)
    return [
        key[:i] + key[i + 1] + key[i] + key[i + 2 :],
        key[:i] + key[i + 1 :],
        key[:i] + key[i] + key[i:],
    ]


def _wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "maybe"  # a non-empty string: truthy, never the intended switch
    if isinstance(value, (int, float)):
        return "abc"
    if isinstance(value, str):
        try:  # a YAML 1.1 number read as a string (2e-4): its wrong type is a word
            float(value)
        except ValueError:
            return 7
        return "abc"
    if isinstance(value, list):
        return 3
    return None


# (section, key) -> values out of range that every VITS-family trainer rejects or
# misbehaves on (AdamW's checks, DataLoader's, modulo/division by zero, STFT sizes).
_OUT_OF_RANGE: dict[tuple[str, str], list[Any]] = {
    ("train", "batch_size"): [0, -4],
    ("train", "learning_rate"): [0, -2e-4],
    ("train", "eps"): [0, -1e-9],
    ("train", "betas"): [[0.8, 1.2], [-0.1, 0.99]],
    ("train", "lr_decay"): [0, 1.5],
    ("train", "log_interval"): [0, -1],
    ("train", "segment_size"): [0, -8192],
    ("data", "hop_length"): [0, -256],
    ("data", "filter_length"): [0],
    ("data", "win_length"): [0],
    ("data", "sampling_rate"): [0],
    ("model", "n_heads"): [0],
}

# (section, key) -> a function giving another valid value: harmless edits.
_HARMLESS: dict[tuple[str, str], Any] = {
    ("train", "seed"): lambda v: v + 17 if isinstance(v, int) else None,
    ("train", "epochs"): lambda v: v * 2 if isinstance(v, int) and v > 0 else None,
    ("train", "batch_size"): lambda v: 8 if isinstance(v, int) and v != 8 else None,
    ("train", "learning_rate"): lambda v: v / 2 if isinstance(v, float) and v > 0 else None,
    ("train", "log_interval"): lambda v: v * 2 if isinstance(v, int) and v > 0 else None,
    ("train", "eval_interval"): lambda v: v * 2 if isinstance(v, int) and v > 0 else None,
    ("train", "c_mel"): lambda v: v + 5 if isinstance(v, (int, float)) else None,
    ("train", "lr_decay"): lambda v: 0.9999 if isinstance(v, float) and v != 0.9999 else None,
    ("train", "c_kl"): lambda v: v * 2 if isinstance(v, (int, float)) else None,
    ("train", "fp16_run"): lambda v: not v if isinstance(v, bool) else None,
    ("data", "max_text_len"): lambda v: v + 10 if isinstance(v, int) else None,
    ("data", "mel_fmin"): lambda v: 20.0 if isinstance(v, (int, float)) and v != 20 else None,
    ("model", "p_dropout"): lambda v: 0.2 if isinstance(v, (int, float)) and v != 0.2 else None,
    ("model", "filter_channels"): lambda v: v + 256 if isinstance(v, int) else None,
    ("model", "n_layers"): lambda v: v + 1 if isinstance(v, int) else None,
    ("model", "use_spectral_norm"): lambda v: not v if isinstance(v, bool) else None,
}


def _set(config: dict[str, Any], section: str, key: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(config)
    out[section][key] = value
    return out


def _rename(config: dict[str, Any], section: str, old: str, new: str) -> dict[str, Any]:
    out = copy.deepcopy(config)
    out[section] = {(new if k == old else k): v for k, v in out[section].items()}
    return out


def mutants(config: dict[str, Any], dialect: str, rng: random.Random) -> Iterator[Mutant]:
    sections = [s for s in SECTIONS if isinstance(config.get(s), dict)]
    known = dialect != "unknown"
    compiled = load_compiled(dialect if known else "vits").sections
    for section in sections:
        body = config[section]
        spec = compiled.get(section)
        if spec is None:
            continue
        for key, value in body.items():
            where = f"{section}.{key}"
            required = (
                known and key in spec.required and not filled_by(dialect, f"/{section}/{key}")
            )
            if required:
                for typo in _typos(key, rng):
                    taken = typo in body or typo in spec.fields
                    if not taken and canonical(typo) == typo:
                        yield Mutant("typo", True, where, _rename(config, section, key, typo))
                without = copy.deepcopy(config)
                del without[section][key]
                yield Mutant("delete", True, where, without)
            # A wrong type breaks any key the trainer reads, required or optional (a
            # no-op key, in spec.noop, is not read, so it cannot break anything).
            if key in spec.fields and key not in spec.noop and value is not None:
                bad = _wrong_type(value)
                if bad is not None:
                    yield Mutant("type", True, where, _set(config, section, key, bad))
            for bad in _OUT_OF_RANGE.get((section, key), []) if key in spec.fields else []:
                yield Mutant("range", True, where, _set(config, section, key, bad))
            change = _HARMLESS.get((section, key))
            new = change(value) if change else None
            if new is not None:
                yield Mutant("value", False, where, _set(config, section, key, new))
        order = list(body.items())
        rng.shuffle(order)
        shuffled = copy.deepcopy(config)
        shuffled[section] = dict(order)
        yield Mutant("order", False, section, shuffled)
    if not sections and not known:
        yield from _flat(config, compiled)
    yield from _arithmetic(config, sections)
    if sections:  # an editor's schema reference: read by no trainer
        yield Mutant("schema", False, "$schema", {"$schema": "vits.schema.json", **config})


def _flat(config: dict[str, Any], compiled: dict[str, Any]) -> Iterator[Mutant]:
    """A file with no sections (one YAML mapping): the VITS-named keys at its top level
    break like their VITS twins when their type or range is wrong."""
    for key, value in config.items():
        for section, spec in compiled.items():
            if key not in spec.fields or value is None:
                continue
            bad = _wrong_type(value)
            if bad is not None:
                yield Mutant("type", True, key, {**config, key: bad})
            for out in _OUT_OF_RANGE.get((section, key), []):
                yield Mutant("range", True, key, {**config, key: out})


def _arithmetic(config: dict[str, Any], sections: list[str]) -> Iterator[Mutant]:
    """Cross-field breaks whose meaning is the same in every fork."""
    train = config.get("train", {}) if "train" in sections else {}
    data = config.get("data", {}) if "data" in sections else {}
    model = config.get("model", {}) if "model" in sections else {}
    seg, hop = train.get("segment_size"), data.get("hop_length")
    if isinstance(seg, int) and isinstance(hop, int) and hop > 1:
        yield Mutant(
            "hop", True, "train.segment_size", _set(config, "train", "segment_size", seg + 1)
        )
    win, fft = data.get("win_length"), data.get("filter_length")
    if isinstance(win, int) and isinstance(fft, int):
        yield Mutant("stft", True, "data.win_length", _set(config, "data", "win_length", fft * 2))
    hidden, heads = model.get("hidden_channels"), model.get("n_heads")
    if isinstance(hidden, int) and isinstance(heads, int) and hidden % 7:
        yield Mutant("heads", True, "model.n_heads", _set(config, "model", "n_heads", 7))
    kernels, rates = model.get("upsample_kernel_sizes"), model.get("upsample_rates")
    if isinstance(kernels, list) and isinstance(rates, list) and len(kernels) > 1:
        cut = _set(config, "model", "upsample_kernel_sizes", kernels[:-1])
        yield Mutant("kernels", True, "model.upsample_kernel_sizes", cut)


def run(folder: Path, sample: int | None, seed: int, show: int) -> dict[str, Any]:
    rng = random.Random(seed)
    dialects = expected_dialects(folder)
    tally: Counter[str] = Counter()
    kinds: Counter[tuple[str, bool]] = Counter()
    misses: list[str] = []
    noisy: list[str] = []
    crashes = 0
    started = time.perf_counter()
    for path in sorted(p for p in folder.iterdir() if p.name in dialects):
        doc = load_bytes(path.read_bytes(), path.name)
        if not isinstance(doc.data, dict):
            continue
        suffix = ".json" if path.suffix == ".json" else ".yaml"
        base = findings(doc.data, suffix)
        tally["unmutated"] += 1
        if any(sev == "error" for _, _, sev in base):
            tally["unmutated_with_errors"] += 1
            noisy.append(f"{path.name}: errors on the unmutated file")
        todo = list(mutants(doc.data, dialects[path.name], rng))
        if sample is not None and len(todo) > sample:
            todo = rng.sample(todo, sample)
        for mutant in todo:
            try:
                new = findings(mutant.config, suffix) - base
            except Exception as exc:  # a crash is a finding of this bench, not of the file
                crashes += 1
                misses.append(f"CRASH {path.name} {mutant.kind} {mutant.where}: {exc!r}")
                continue
            kinds[(mutant.kind, mutant.breaking)] += 1
            if mutant.breaking:
                tally["breaking"] += 1
                if any(sev in ("error", "warning") for _, _, sev in new):
                    tally["flagged"] += 1
                else:
                    misses.append(f"{path.name}: {mutant.kind} {mutant.where}")
            else:
                tally["harmless"] += 1
                if new:
                    tally["noisy"] += 1
                    noisy.append(f"{path.name}: {mutant.kind} {mutant.where} -> {sorted(new)}")
    recall = tally["flagged"] / tally["breaking"] if tally["breaking"] else 1.0
    clean = tally["harmless"] + tally["unmutated"]
    noise = (tally["noisy"] + tally["unmutated_with_errors"]) / clean if clean else 0.0
    return {
        "files": tally["unmutated"],
        "breaking": tally["breaking"],
        "flagged": tally["flagged"],
        "harmless": tally["harmless"],
        "noisy": tally["noisy"],
        "unmutated_with_errors": tally["unmutated_with_errors"],
        "recall": round(recall, 4),
        "noise": round(noise, 4),
        "crashes": crashes,
        "seconds": round(time.perf_counter() - started, 1),
        "kinds": {f"{k}{'' if b else ' (harmless)'}": n for (k, b), n in sorted(kinds.items())},
        "misses": misses[:show],
        "noisy_examples": noisy[:show],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=FOLDER)
    parser.add_argument("--sample", type=int, default=None, help="at most N mutants per file")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--show-misses", type=int, default=10)
    args = parser.parse_args()
    report = run(args.folder, args.sample, args.seed, args.show_misses)
    print(json.dumps(report, indent=2))
    ok = report["recall"] >= RECALL_BAR and report["noise"] <= NOISE_BAR and not report["crashes"]
    print(
        f"recall {report['recall']:.3f} (bar >= {RECALL_BAR}) on {report['breaking']} breaking "
        f"mutants; noise {report['noise']:.3f} (bar <= {NOISE_BAR}) on {report['harmless']} "
        f"harmless mutants + {report['files']} unmutated files; crashes {report['crashes']}: "
        + ("PASS" if ok else "FAIL")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
