"""The training set on disk: filelists, audio headers, symbol sets, text frontends,
cached spectrogram shapes (torch-free), and the torch dataset, sampler and
preprocessing the trainer uses.

`vitscfg check` runs as a pre-commit hook with only the core install, so the
modules it imports (filelist, audio_header, symbols, spec_cache, buckets, scan,
text, sampler) must not import torch or soundfile; dataset.py and preprocess.py
do, and only the trainer imports them. The linter and the trainer share the same
parsers, so they can never disagree about what a filelist line means.
"""
