"""审计日志: every transition, import, publish and override as an append-only, hash-chained event."""
