"""The alerts rules with numbers, one file per rule, each a table of rows per region with the date
the row takes effect (docs/domain.md, "Rules with numbers": incident severity, incident grouping,
reporting deadlines). Every lookup takes the day it applies to: the service's clock decides it."""
