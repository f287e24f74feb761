"""Reporting's rules with numbers, each a dated table per region (picked with shared.rules.rule_in_force)."""
