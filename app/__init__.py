"""The Praxis service: HTTP API, auth, database, session controller and CLI."""
