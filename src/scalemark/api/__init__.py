"""The JSON API under ``/api/v1`` (bearer tokens or a session), documented by OpenAPI."""
