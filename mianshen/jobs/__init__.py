"""调度任务: the scheduled jobs `mianshen worker` runs; each is idempotent, so any pass may repeat."""
