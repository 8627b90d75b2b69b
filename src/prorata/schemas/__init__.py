"""The published JSON Schemas of the quote document (request, response and error), shipped as package data."""
