"""How people and programs reach Prorata: the CLI now; the REST API and the portal use the same documents."""
