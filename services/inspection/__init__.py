"""Inspection: checklists, inspections, grades, rectification, campaigns, complaints and plans.
Keeps its own business directory from registry events; never reads the registry's database."""
