"""Outgoing webhooks on the wire: signed per Standard Webhooks, sent over HTTP only to addresses they may reach."""
