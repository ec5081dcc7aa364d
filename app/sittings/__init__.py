"""Exam sittings: a roster of candidates read from a file or a textarea, and the paper slips
that hand each one their exam code. Pure functions over bytes and plain data (no database, no
HTTP): the API and pages call them and store what they return.
"""
