"""Zalo gateways: the Official Account API (oa.py) and the Zalo Bot Platform (bot_platform.py)."""
