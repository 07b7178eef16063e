"""政策库与匹配库: publishing policy versions, match runs, cases and data requests from matches."""
