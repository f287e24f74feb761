"""The county simulator: a seeded plan of a county's year (`plan.py`, pure) played through the
services' real HTTP APIs with the right roles' tokens (`driver.py`). `shian simulate`,
`bench/county.py` and `make run`'s demo history all use it."""
