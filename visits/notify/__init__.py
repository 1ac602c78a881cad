"""Outgoing messages: the outbox, channel adapters, Russian message templates."""
