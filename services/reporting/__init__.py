"""Reporting: read models built from every service's events; statistics and the work summary."""
