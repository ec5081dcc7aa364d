"""Provisioning: a scenario's topology becomes running, isolated nodes, and back.

Nothing here knows of HTTP or the database: the app hands a scenario and a session id
to a driver and receives node addresses back.
"""
