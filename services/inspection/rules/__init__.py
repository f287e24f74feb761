"""The inspection rules with numbers, one file per rule, each a table of rows per region with the
date the row takes effect (docs/domain.md marks these numbers as varying by province)."""
