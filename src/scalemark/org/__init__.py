"""The organisation's unit tree: HQ, regions, countries, business units, brands, teams."""
