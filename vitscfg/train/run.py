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
from typing import TYPE_CHECKING

from rich.console import Console

from vitscfg.config.schema.train import VitscfgTrain

if TYPE_CHECKING:
    from vitscfg.lint.result import CheckResult
    from vitscfg.opening import OpenedConfig
    from vitscfg.train.memcheck import StartPrediction


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
    cpu: bool = False,
    console: Console | None = None,
    memory_check: StartPrediction | None = None,
) -> int:
    """Check, then train; returns the process exit code (module docstring).

    ``memory_check``: the estimator's prediction for the one-line memory check of a GPU
    run (vitscfg/train/memcheck.py); the CLI passes it, the trainer never imports the
    estimator."""
    out = console or _console()
    err = console or _console(stderr=True)
    path = Path(config_path)
    opened = _opened(path, err)
    if isinstance(opened, int):
        return opened
    config, train = opened.data, opened.train
    assert isinstance(train, VitscfgTrain)  # open_config(trainer=True)
    if cpu:  # --cpu: a fork's config means CUDA (no use_gpu key)
        train = train.model_copy(update={"use_gpu": False})
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
        dialect=opened.dialect,
        memory_check=memory_check,
    )
    # The same loop with VITS2's step and checkpoints (the MB-iSTFT forks' steps are VITS2's
    # order: vits2_step.py).
    if opened.dialect in ("vits2", "mb-istft-vits2", "mb-istft-vits"):
        from vitscfg.train.vits2_run import Vits2Trainer

        trainer: Trainer = Vits2Trainer(config, train, options, out)
    else:
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


def _opened(path: Path, err: Console) -> OpenedConfig | int:
    """The checked config (`vitscfg.opening`), or the exit code to return; the check's
    findings are shown either way."""
    from vitscfg.opening import Refused, open_config

    try:
        opened = open_config(path, trainer=True)
    except Refused as exc:
        if exc.check is not None:
            _show_findings(exc.check, err)
        if exc.stage == "check":
            err.print(
                f"[red]refusing to train:[/] {exc.message}; fix them first (each would fail "
                "the run later, often hours in)"
            )
        elif exc.stage == "support":
            err.print(f"[red]refusing to train:[/] {exc.message}")
        else:
            err.print(f"[red]error:[/] {exc.message}")
        return exc.exit_code
    _show_findings(opened.check, err)
    if opened.support is not None and opened.support.level == "proxy":
        err.print(
            f"[yellow]warning:[/] {opened.support.reason}; what `vitscfg train` trains is that "
            "VITS model (train in the fork for the fork's own model)"
        )
    return opened


def _show_findings(result: CheckResult, err: Console) -> None:
    if result.errors or result.warnings:
        from vitscfg.lint.report import REPORTERS

        text = REPORTERS["text"](result, color=err.is_terminal and "NO_COLOR" not in os.environ)
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
