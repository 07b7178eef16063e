"""政策条件库: the policy language — pure (no I/O besides reading policy files, no database)."""
