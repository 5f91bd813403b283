"""`vitscfg init`: a folder of recordings -> a ready-to-train project (config, filelists,
converted audio), sized for a GPU and proven by `check`. Layout readers and audio
conversion live in vitscfg/data; this package splits, maps speakers, writes the config
from a template and ties the steps together."""
