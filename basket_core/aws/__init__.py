"""Thin boto3 adapters, one module per AWS service.

:mod:`basket_core.aws.session` builds sessions and clients from :class:`basket_core.config.AwsConfig`
(endpoint URL, region, profile, botocore's retry mode and attempts). Athena runs through
PyAthena (:mod:`~basket_core.aws.athena`), retried by botocore alone. The service modules
(:mod:`~basket_core.aws.s3`, :mod:`~basket_core.aws.glue`, :mod:`~basket_core.aws.athena`) take an
injected client (Athena: a PyAthena connection), so tests point them at a local moto server.
"""
