"""Prorata: self-hosted subscription billing and license management for seat-based SaaS."""

__version__ = "0.1.0"
