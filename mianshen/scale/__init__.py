"""Matching at national scale: Parquet profile snapshots and the compiled policy SQL on Apache Spark.

- `session`:   a SparkSession configured for this platform (offline, UTC, exact decimals)
- `parquet`:   profile snapshots as Parquet (the wide table DuckDB screens, one row per enterprise)
- `synthetic`: seeded synthetic profiles for tests and benchmarks
- `spark`:     every screenable policy's compiled Spark SQL over a snapshot, results to Parquet
- `bench`:     Spark and DuckDB timed over the same snapshot (docs/scaling.md)
"""
