"""The registry's rules with numbers, one file per rule, each a table of rows per region with the
date the row takes effect (docs/domain.md lists them with their defaults and sources). Every lookup
takes the day it applies to: the caller's local day by the injected clock, or the event's day."""
