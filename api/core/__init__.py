"""Service-wide configuration."""
