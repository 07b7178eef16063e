"""企业画像库: data sources, import batches, observations, profiles as of a date, data quality."""
