"""Fakes shared by the tests: loopback servers that stand in for Rasa, Zalo and Telegram."""
