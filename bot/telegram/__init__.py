"""Telegram gateway: the volunteers' team group (handoff tickets) and residents' private chats."""
