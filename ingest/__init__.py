"""Continuous ingestion: CSV drops and Kafka events into the Delta ``lines`` table.

``kafka_broker`` (a local KRaft broker), ``events`` (the event contract), ``replay``
(CSV -> topic), ``staging`` + ``sink`` + ``tables`` (micro-batch -> Delta, exactly once),
``stream`` (the Structured Streaming queries).
"""
