"""案件: one benefit for one enterprise, from match / list / application to paid and archived."""
