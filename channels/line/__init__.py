"""The LINE Messaging API channel: webhook in, reply/push out."""
