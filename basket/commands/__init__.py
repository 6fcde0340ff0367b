"""Thin click adapters over the stage libraries: one module per top-level command,
each exporting ``command``. Registered in :data:`basket.cli.COMMANDS`."""
