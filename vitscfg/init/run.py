"""`vitscfg init DATASET --out DIR`: options in, exit code out.

Steps: read the layout (nothing written yet; problems end here with exit 1), pick the
target rate, clean and check the transcripts, convert or keep each clip (into a staging
folder), map speakers, split, write filelists and the config, size the batch with the
estimator, run `check` on the result, then rename the staging folder into place.
Exit codes: 0 a checked project, 1 the data (or the result) has problems, 2 usage.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from vitscfg.data.buckets import VITS_BUCKETS
from vitscfg.data.convert import Job, Outcome, Target, process_all
from vitscfg.data.importers import Imported, Utterance, detect, layouts
from vitscfg.init import manifest, project
from vitscfg.init.report import Dropped, Summary, print_problems, print_summary
from vitscfg.init.template import RATES, SEGMENT_FRAMES, STFT, TEMPLATES, build_config


@dataclass(frozen=True)
class InitOptions:
    dataset: Path
    out: Path
    layout: str | None = None
    sample_rate: int | None = None
    template: str = "tiny"
    language: str | None = None
    cleaners: tuple[str, ...] = ()
    val: int | None = None
    seed: int = 1234
    trim_db: float | None = None
    drop_bad: bool = False
    vram: str | None = None
    gpu: int | None = None
    batch_size: int | None = None
    estimate: bool = True
    use_gpu: bool = True
    workers: int | None = None
    progress: bool = True


class InitFailed(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def run_init(opts: InitOptions, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        _validate(opts)
        project.check_paths(opts.dataset, opts.out)
        imported = _read(opts, err)
        return _build(opts, imported, out, err)
    except project.UsageProblem as exc:
        err.write(f"vitscfg init: {exc}\n")
        return 2
    except InitFailed as exc:
        err.write(f"vitscfg init: {exc}\n")
        return exc.code


def _validate(opts: InitOptions) -> None:
    if opts.template not in TEMPLATES:
        raise project.UsageProblem(f"--template {opts.template!r}: choose {' or '.join(TEMPLATES)}")
    if opts.sample_rate is not None and opts.sample_rate not in RATES:
        rates = ", ".join(map(str, RATES))
        raise project.UsageProblem(f"--sample-rate {opts.sample_rate}: choose one of {rates}")
    if opts.layout is not None and opts.layout not in layouts():
        raise project.UsageProblem(
            f"--format {opts.layout!r}: choose one of {', '.join(layouts())}"
        )
    if opts.val is not None and opts.val < 1:
        raise project.UsageProblem("--val must be at least 1 (the validation set is never empty)")
    if opts.batch_size is not None and opts.batch_size < 1:
        raise project.UsageProblem("--batch-size must be at least 1")


def _read(opts: InitOptions, err: TextIO) -> Imported:
    root = opts.dataset
    if not any(p for p in root.iterdir() if not p.name.startswith(".")):
        raise InitFailed(f"{root} is empty: nothing to import")
    layout = layouts()[opts.layout] if opts.layout else detect(root)
    if layout is None:
        shapes = "; ".join(f"{lay.name}: {lay.title}" for lay in layouts().values())
        raise InitFailed(
            f"{root}: no known layout (no transcripts found beside the audio). "
            f"Expected one of: {shapes}"
        )
    imported = layout.read(root)
    for note in imported.notes:
        err.write(f"note: {note}\n")
    if imported.droppable and not opts.drop_bad:
        imported.problems.extend(p for p, _ in imported.droppable)
    if imported.problems:
        print_problems(err, imported.problems, hint=bool(imported.droppable) and not opts.drop_bad)
        raise InitFailed(f"{len(imported.problems)} problem(s) in {root}; nothing was written")
    if not imported.utterances:
        raise InitFailed(f"{root}: no recording with a transcript ({layout.title})")
    return imported


def _target_rate(
    opts: InitOptions, utts: list[Utterance], err: TextIO
) -> tuple[int, list[Dropped]]:
    """The training rate, and the clips whose header libsndfile cannot read."""
    import soundfile as sf

    rates: Counter[int] = Counter()
    unreadable: list[Dropped] = []
    for utt in utts:
        try:
            rates[int(sf.info(str(utt.audio)).samplerate)] += 1
        except (RuntimeError, OSError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
            unreadable.append(Dropped(str(utt.audio), f"unreadable ({reason[:120]})"))
    if unreadable and not opts.drop_bad:
        print_problems(err, [f"{d.where}: {d.reason}" for d in unreadable], hint=True)
        raise InitFailed(f"{len(unreadable)} unreadable audio file(s); nothing was written")
    if opts.sample_rate is not None:
        return opts.sample_rate, unreadable
    if not rates:
        raise InitFailed("no readable audio")
    if len(rates) > 1:
        mix = ", ".join(f"{n} clip(s) at {r} Hz" for r, n in sorted(rates.items()))
        raise InitFailed(
            f"the recordings have mixed sample rates ({mix}); choose the training rate with "
            f"--sample-rate ({', '.join(map(str, RATES))}) and init resamples the others",
            2,
        )
    rate = next(iter(rates))
    if rate in STFT:
        return rate, unreadable
    lower = [r for r in RATES if r <= rate]
    return (max(lower) if lower else RATES[0]), unreadable


def _build(opts: InitOptions, imported: Imported, out: TextIO, err: TextIO) -> int:
    from vitscfg.config.schema.data import VitsData
    from vitscfg.init.text import LANGUAGE_CLEANERS, clean_all, guess_language

    utts = imported.utterances
    rate, dropped = _target_rate(opts, utts, err)
    bad = {d.where for d in dropped}
    utts = [u for u in utts if str(u.audio) not in bad]
    dropped += [Dropped(p.where, f"{reason}: {p.message}") for p, reason in imported.droppable]
    hop = STFT[rate].hop_length
    target = Target(
        rate,
        # The bucket sampler keeps low < frames <= high, frames = samples // hop.
        min_samples=(max(VITS_BUCKETS.low, SEGMENT_FRAMES) + 1) * hop - 1,
        max_samples=(VITS_BUCKETS.high + 1) * hop - 1,
        trim_db=opts.trim_db,
    )

    language = opts.language or guess_language([u.text for u in utts])
    cleaners = list(opts.cleaners) or LANGUAGE_CLEANERS.get(language, LANGUAGE_CLEANERS["other"])
    max_text = int(VitsData.model_fields["max_text_len"].default)
    texts: dict[str, str] = {}
    for utt, cleaned in zip(utts, clean_all([u.text for u in utts], cleaners), strict=True):
        if cleaned.text is None:
            dropped.append(Dropped(utt.where or str(utt.audio), cleaned.reason))
        elif len(utt.text) > max_text:
            dropped.append(
                Dropped(
                    utt.where or str(utt.audio), f"transcript longer than {max_text} characters"
                )
            )
        else:
            texts[utt.id] = utt.text.replace("|", ",")
    utts = [u for u in utts if u.id in texts]

    stage = project.staging(opts.out)
    try:
        code = _write_project(
            opts, imported.layout, utts, texts, target, cleaners, language, dropped, stage, out, err
        )
        if code == 0:
            project.swap_in(stage, opts.out)
        return code
    finally:
        if stage.exists():
            project.discard(stage)


def _convert(
    opts: InitOptions, utts: list[Utterance], target: Target, stage: Path
) -> tuple[dict[str, Outcome], dict[str, str], dict[str, manifest.Entry], int, int]:
    """Outcome per clip id, the converted files' project paths, the new manifest, how
    many clips were reused from the previous run and how many were processed now."""
    previous = manifest.load(opts.out)
    outcomes: dict[str, Outcome] = {}
    outputs: dict[str, str] = {}
    entries: dict[str, manifest.Entry] = {}
    jobs: list[tuple[Utterance, Job]] = []
    reused = 0
    for utt in utts:
        source = utt.audio.resolve()
        rel = f"wavs/{_safe(utt.id)}.wav"
        entry = previous.get(str(source))
        if manifest.reusable(entry, source, target, opts.out):
            assert entry is not None
            reused += 1
            outcomes[utt.id] = Outcome(source, entry.action, entry.samples, entry.reason)
            if entry.output is not None:
                project.link_or_copy(opts.out / entry.output, stage / rel)
                outputs[utt.id] = rel
            entries[str(source)] = entry
        else:
            jobs.append((utt, Job(source, stage / rel)))
    results = process_all(
        [j for _, j in jobs],
        target,
        workers=opts.workers,
        progress=opts.progress,
        label="converting audio",
    )
    for (utt, job), outcome in zip(jobs, results, strict=True):
        outcomes[utt.id] = outcome
        rel = job.dest.relative_to(stage).as_posix()
        if outcome.action == "converted":
            outputs[utt.id] = rel
        entry = manifest.entry_for(outcome, target, rel)
        if entry is not None:
            entries[str(job.source)] = entry
    return outcomes, outputs, entries, reused, len(jobs)


def _safe(clip_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in clip_id)


def _write_project(
    opts: InitOptions,
    layout: str,
    utts: list[Utterance],
    texts: dict[str, str],
    target: Target,
    cleaners: list[str],
    language: str,
    dropped: list[Dropped],
    stage: Path,
    out: TextIO,
    err: TextIO,
) -> int:
    from vitscfg.atomic import atomic_write_text
    from vitscfg.config.jsonschema import render
    from vitscfg.init.peers import check_project, recommend_batch
    from vitscfg.init.split import default_val_count, speaker_map, split

    outcomes, outputs, entries, reused, processed = _convert(opts, utts, target, stage)
    usable = [u for u in utts if outcomes[u.id].action in ("kept", "converted")]
    dropped += [Dropped(str(u.audio), outcomes[u.id].reason) for u in utts if u not in usable]
    if len(usable) < 2:
        print_summary(err, Summary.of(dropped=dropped))
        raise InitFailed(
            f"{len(usable)} usable clip(s): training needs at least 2; nothing written"
        )

    multi = len({u.speaker for u in usable}) > 1
    try:
        old_map = json.loads((opts.out / "speakers.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old_map = None
    speakers = (
        speaker_map([u.speaker for u in usable], old_map if isinstance(old_map, dict) else None)
        if multi
        else {}
    )
    per_speaker = Counter(u.speaker for u in usable)
    val_count = opts.val if opts.val is not None else default_val_count(per_speaker)
    train_ids, val_ids = split({u.id: u.speaker for u in usable}, val_count, opts.seed)
    if not val_ids:
        raise InitFailed("the validation set would be empty: every speaker has a single clip")

    by_id = {u.id: u for u in usable}

    def line(clip_id: str) -> str:
        utt = by_id[clip_id]
        path = outputs.get(clip_id) or str(utt.audio.resolve())
        sid = f"|{speakers[utt.speaker]}" if multi else ""
        return f"{path}{sid}|{texts[clip_id]}\n"

    (stage / "filelists").mkdir(exist_ok=True)
    atomic_write_text(stage / "filelists" / "train.txt", "".join(map(line, train_ids)))
    atomic_write_text(stage / "filelists" / "val.txt", "".join(map(line, val_ids)))
    if multi:
        atomic_write_text(
            stage / "speakers.json", json.dumps(speakers, indent=1, ensure_ascii=False) + "\n"
        )
    atomic_write_text(stage / "vitscfg.schema.json", render("vitscfg"))
    atomic_write_text(stage / manifest.MANIFEST, manifest.dumps(entries, opts.dataset.resolve()))
    config = build_config(
        rate=target.rate,
        template=opts.template,
        cleaners=cleaners,
        n_speakers=max(speakers.values()) + 1 if multi else 0,
        use_gpu=opts.use_gpu,
        schema_ref="vitscfg.schema.json",
    )
    config_path = stage / "config.json"
    atomic_write_text(config_path, json.dumps(config, indent=2) + "\n")

    sizing_note = "--batch-size" if opts.batch_size is not None else "the template (--no-estimate)"
    if opts.batch_size is not None:
        config["train"]["batch_size"] = opts.batch_size
    elif opts.estimate:
        sizing = recommend_batch(
            config_path,
            vram=opts.vram,
            gpu=opts.gpu,
            segment_size=int(config["train"]["segment_size"]),
        )
        if sizing.batch_size is not None:
            # A batch larger than the training set would leave the sampler no full batch.
            config["train"]["batch_size"] = min(sizing.batch_size, len(train_ids))
            sizing_note = f"vitscfg estimate for {sizing.device}: {sizing.batch_size}" + (
                f", capped at the {len(train_ids)} training clips"
                if sizing.batch_size > len(train_ids)
                else ""
            )
        else:
            sizing_note = f"the template (estimate gave no size: {sizing.message})"
    atomic_write_text(config_path, json.dumps(config, indent=2) + "\n")

    checked = check_project(config_path)
    summary = Summary(
        layout=layout,
        out=opts.out,
        rate=target.rate,
        template=opts.template,
        language=language,
        cleaners=cleaners,
        counts=Counter(outcomes[u.id].action for u in usable),
        converted_from=Counter(
            outcomes[u.id].reason for u in usable if outcomes[u.id].action == "converted"
        ),
        reused=reused,
        processed=processed,
        dropped=dropped,
        speakers=len(speakers) if multi else 1,
        train=len(train_ids),
        val=len(val_ids),
        hours=sum(outcomes[u.id].samples for u in usable) / target.rate / 3600,
        batch_size=int(config["train"]["batch_size"]),
        sizing=sizing_note,
        warnings=checked.warnings,
    )
    print_summary(out, summary)
    if checked.errors:
        err.write(checked.report.rstrip("\n").replace(str(stage), str(opts.out)) + "\n")
        raise InitFailed(
            f"the written config fails `vitscfg check` ({checked.errors} error(s) above); "
            "nothing was written. Please report this with the dataset's layout"
        )
    if checked.warnings:
        err.write(checked.report.rstrip("\n").replace(str(stage), str(opts.out)) + "\n")
    return 0
