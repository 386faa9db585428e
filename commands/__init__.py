"""Command handlers, the composition root and the `billing` command line."""
