"""Checking: transports to nodes, built-in checks, scenario grader modules.

Graders receive node addresses and a private key from the app (which got them from labs)
and never raise: a broken node is a 0 with the reason as evidence.
"""
