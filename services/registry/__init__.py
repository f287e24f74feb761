"""Registry: the county's register of places and food businesses; the source of truth for who is
supervised and by whom."""
