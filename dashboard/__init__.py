"""The staff dashboard: satisfaction metrics, feedback acknowledgement, knowledge gaps, the walkthrough funnel.

Run it with `python -m dashboard` (see dashboard/__main__.py); the app is built by dashboard.app.create_app.
"""
