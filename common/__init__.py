"""What several processes share: the Redis records they exchange, the Redis client, and the text functions.

The action server writes feedback and analytics, the gateways write the handoff log, the dashboard reads all three:
their stream names, record fields and pseudonyms live here (`common.records`), with the one way to build a Redis
client and the in-memory stand-in the terminal demo runs on (`common.redis`), the masking and Vietnamese
normalisation every process applies (`common.text`), BM25 (`common.lexical`), and the stand-in modules that keep
libraries a process never runs out of its memory (`common.standins`). Nothing here imports `actions`,
`bot`, `dashboard` or Rasa; it stays importable on Rasa's Python 3.10 (rasa_addons imports `common.text`).
"""
