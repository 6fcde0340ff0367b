"""Continuous ingestion: CSV drops and Kafka events into the Delta ``lines`` table.

``events`` (the event contract), ``replay`` (CSV -> topic), ``stream`` (the Structured
Streaming queries), ``staging`` (raw records -> typed lines), ``sink`` (the foreachBatch
sink, exactly once) with ``dedup`` (repeats within a batch), ``lookup`` (lines already
stored) and ``rows`` (the stored row shapes), ``tables`` (the Delta tables).
"""
