"""vitscfg: lint, size and train VITS-family speech-model configs.

The package is split so that `vitscfg check` never imports torch: `config/` and
`lint/` are pure Python; `model/`, `train/` and `estimate/` are imported lazily by
the commands that need them.
"""

__version__ = "0.1.0"
