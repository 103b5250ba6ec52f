"""The composition root: HTTP, jobs, CLI. Nothing imports app."""
