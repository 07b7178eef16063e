"""National standards the platform rests on (reference data shipped inside the package)."""
