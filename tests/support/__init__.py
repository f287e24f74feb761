"""Helper programs and launchers for tests that run real processes."""
