"""Importing this package registers every rule (see lint/registry.py).

One module per area: syntax (VC0xx, emitted by the loader), fields (VC1xx,
schema), stft / generator / speakers / training (VC2xx, cross-field), data
(VC3xx, the files on disk).
"""

from vitscfg.lint.rules import data, fields, generator, speakers, stft, syntax, training  # noqa: F401
