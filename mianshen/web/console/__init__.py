"""The department console, the supervision dashboard and the audit view: view models and routes glue."""
