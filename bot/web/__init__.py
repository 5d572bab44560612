"""The web chat widget a commune embeds on its website, and the small aiohttp server behind it (`python -m bot.web`)."""
