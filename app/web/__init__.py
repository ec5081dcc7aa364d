"""The browser side: server-rendered pages (Jinja2 + htmx), terminals over WebSockets.

French first, English by a switch; no build step, every asset served from app/static.
"""
