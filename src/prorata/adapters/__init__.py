"""Adapters implement the ports of the services with real parts: the database, payment gateways, mail, documents."""
