"""Getting customer outcomes in: CSV imports, JSON batches and the daily rollups they keep.

- `validation`: what a row must be, and the reason for each way it is wrong (`RowValidator`).
- `staging`: PostgreSQL validates an import batch in SQL over its staged COPY.
- `writer`: staged records into the records table and their rollup cells, in one statement.
- `rollups`: the one definition of a daily cell, for ingest, rebuild and the seeder.
- `jobs`: an import's life: upload checks, Idempotency-Key, batches, resume, stalls.
- `batches`: the JSON endpoint and the signed webhook.
"""
