"""`vitscfg train` as a function: config path in, exit code out, no traceback for bad input.

    vitscfg train examples/tiny/config.json --run-dir runs/tiny --max-steps 200

Order: read the config, run `vitscfg check` on it (errors refuse the run before any
data or model is loaded, warnings are shown), read the `train` section with the
vitscfg schema (its defaults are the single source), then the Trainer recipe.

Exit codes: 0 done; 1 the config, data or run failed (message on stderr); 2 the
config file is unreadable; 130 / 143 stopped by Ctrl-C / SIGTERM after saving.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console


def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def run_train(
    config_path: str | os.PathLike[str],
    *,
    run_dir: str | os.PathLike[str] | None = None,
    max_steps: int | None = None,
    resume: bool = True,
    init_from: str | os.PathLike[str] | None = None,
    init_d: str | os.PathLike[str] | None = None,
    resample: bool = False,
    console: Console | None = None,
) -> int:
    """Check, then train; returns the process exit code (module docstring)."""
    out = console or _console()
    err = console or _console(stderr=True)
    path = Path(config_path)
    config = _checked_config(path, out, err)
    if isinstance(config, int):
        return config
    train = _train_settings(config, err)
    if train is None:
        return 1
    for flag, value in (("--init-from", init_from), ("--init-d", init_d)):
        if value is not None and not Path(value).is_file():
            err.print(f"[red]error:[/] {flag} {value}: no such file")
            return 1
    if max_steps is not None and max_steps < 1:
        err.print("[red]error:[/] --max-steps must be at least 1")
        return 2

    # Heavy imports only now: a refused config never pays for torch.
    from vitscfg.data.clips import DataError
    from vitscfg.data.sampler import NoUsableUtterances
    from vitscfg.data.text import TextFrontendError
    from vitscfg.train import TrainError
    from vitscfg.train.distributed import DistributedSetupError
    from vitscfg.train.loop import Trainer, TrainOptions

    options = TrainOptions(
        run_dir=Path(run_dir) if run_dir is not None else Path("runs") / path.stem,
        config_path=path,
        max_steps=max_steps,
        resume=resume,
        init_from=Path(init_from) if init_from is not None else None,
        init_d=Path(init_d) if init_d is not None else None,
        resample=resample,
    )
    trainer = Trainer(config, train, options, out)
    try:
        trainer.setup()
        return trainer.train()
    except (TrainError, DataError, TextFrontendError, NoUsableUtterances) as exc:
        err.print(f"[red]error:[/] {exc}")
        if "sample rate" in str(exc) and not resample:
            err.print("hint: run again with --resample to resample while loading")
        return 1
    except DistributedSetupError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 1
    except KeyboardInterrupt:
        err.print("[yellow]aborted[/] (second interrupt): no checkpoint written for this step")
        return 130
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        err.print(f"[red]error:[/] {where}{exc.strerror or exc}")
        return 1
    finally:
        trainer.cleanup()


def _checked_config(path: Path, out: Console, err: Console) -> dict[str, Any] | int:
    """The config as a dict after `vitscfg check` passed, or the exit code to return."""
    from vitscfg.config.load import UnreadableInput
    from vitscfg.lint.report import REPORTERS
    from vitscfg.lint.run import CheckOptions, check_paths

    try:
        result = check_paths([path], CheckOptions())
    except UnreadableInput as exc:
        err.print(f"[red]error:[/] {exc}")
        return 2
    if result.errors or result.warnings:
        text = REPORTERS["text"](result, color=err.is_terminal and "NO_COLOR" not in os.environ)
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    if result.errors:
        err.print(
            f"[red]refusing to train:[/] `vitscfg check {path}` found {result.errors} "
            "error(s); fix them first (each would fail the run later, often hours in)"
        )
        return 1
    from vitscfg.config.load import load
    from vitscfg.model.support import model_support

    data = load(path).data
    if not isinstance(data, dict):
        err.print(f"[red]error:[/] {path}: not a JSON object")
        return 2
    support = model_support(data, result.files[0].dialect)
    if support.level == "none":
        err.print(f"[red]refusing to train:[/] {support.reason}")
        return 1
    if support.level == "proxy":
        err.print(
            f"[yellow]warning:[/] {support.reason}; what `vitscfg train` trains is that VITS "
            "model (train in the fork for the fork's own model)"
        )
    return data


def _train_settings(config: dict[str, Any], err: Console) -> Any:
    """The `train` section read with the vitscfg schema (typed, defaults filled in).

    A reference (vits) config has no `use_gpu`: it means CUDA there, so it does here."""
    from pydantic import ValidationError

    from vitscfg.config.schema.train import VitscfgTrain

    section = config.get("train")
    if not isinstance(section, dict):
        err.print("[red]error:[/] the config has no `train` section")
        return None
    try:
        return VitscfgTrain.model_validate({"use_gpu": True, **section})
    except ValidationError as exc:
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"])
            err.print(f"[red]error:[/] train.{where}: {e['msg']}")
        return None
