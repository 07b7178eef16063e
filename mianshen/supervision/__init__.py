"""监督问效 that acts: committed time limits per stage, the overdue ledger, performance evaluation."""
