"""VC3xx: the training data on disk, checked against the config.

All rules share one scan per config (filelists read once, headers in parallel,
see `vitscfg.data.scan`) and report ONE finding per problem kind per filelist,
with counts and the first few lines, pointed at the filelist's config key: a
10,000-clip dataset with the wrong rate is one mistake, not 10,000.
"""

from vitscfg.lint.rules.data.audio import *  # noqa: F403
from vitscfg.lint.rules.data.dataset import *  # noqa: F403
from vitscfg.lint.rules.data.files import *  # noqa: F403
from vitscfg.lint.rules.data.loudness import *  # noqa: F403
