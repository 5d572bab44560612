"""Rasa SDK action server: one module per domain. Nothing heavy happens at import time."""
