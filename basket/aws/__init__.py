"""Thin boto3 adapters, one module per AWS service.

:mod:`basket.aws.session` builds sessions and clients from :class:`basket.config.AwsConfig`
(endpoint URL, region, profile) and retries calls on throttling only. The service modules
(:mod:`~basket.aws.s3`, :mod:`~basket.aws.glue`, :mod:`~basket.aws.athena`) take an
injected client, so tests hand them a client pointed at a local moto server.
"""
