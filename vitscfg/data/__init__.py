"""Torch-free access to a training set on disk: filelists, audio headers, symbol
sets and cached spectrogram shapes.

`vitscfg check` runs as a pre-commit hook with only the core install, so nothing
here may import torch (or soundfile, except as an optional extra for non-WAV
files); the bundled trainer reuses the same parsers so that the linter and the
trainer can never disagree about what a filelist line means.
"""
