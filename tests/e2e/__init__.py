"""Browser journeys (a package, so their module names never clash with unit tests)."""
