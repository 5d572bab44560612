"""Channel gateways: Zalo OA, Zalo Bot, Telegram and the web widget, each a process translating its channel to
Rasa's REST webhook and back. They hold no dialogue logic; what they share lives in Redis (see bot/state.py)."""
