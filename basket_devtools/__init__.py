"""Development tools: synthetic point-of-sale data, sample results, the local Kafka, Trino
and moto (S3/Glue/Athena/QuickSight) servers, and the JVM warm-up run. Not used by the
stages; the CLI and the tests start them."""
