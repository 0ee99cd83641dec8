export const HELP = `shadowfill — backfill historical Parquet from object storage into live ClickHouse and TimescaleDB
tables through shadow tables, without pausing ingestion and without leaving a live table half-loaded.

Usage:
  shadowfill demo [--target clickhouse|timescaledb] [--rows N] [--json]
      Starts an embedded database and a local S3 server, creates live data, backfills, verifies.
  shadowfill plan --config backfill.yaml [--flags]
      Validates everything and prints every step with its exact SQL; changes nothing.
  shadowfill run --config backfill.yaml [--new-run] [--json] [--quiet] [--flags]
      Runs (or resumes) the backfill and prints a verification report.
  shadowfill status --config backfill.yaml
      Shows the journal of this configuration's runs: batches by state, what was swapped, what remains.

Every configuration field is also a flag: --target.url, --target.table, --source.url, --source.endpoint,
--filter.column, --filter.before, --batch.files, --batch.bytes, --settings.max_insert_threads, --load, …
Credentials also come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, CLICKHOUSE_USER/CLICKHOUSE_PASSWORD, PGUSER/PGPASSWORD.
See README.md for the configuration reference.
`;
