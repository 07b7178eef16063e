"""通知: an outbox written in the same transaction as the change it announces, and its sender."""
