"""Agora: talk with great philosophers; replies stream token by token."""

__version__ = "0.1.0"
