"""The bundled trainer (`vitscfg train`): imports torch; never imported by `check`."""
