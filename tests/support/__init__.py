"""What the tests import: the demo county (county.py), the in-process service harnesses
(harness.py and one module per service), the four services as one county (services.py),
fixture families loaded as plugins (fixtures/), and helper programs and launchers for tests
that run real processes. Tests import from here, never from a conftest."""
