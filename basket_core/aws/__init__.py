"""Thin boto3 adapters, one module per AWS service.

:mod:`basket_core.aws.session` builds sessions and clients from :class:`basket_core.config.AwsConfig`
(endpoint URL, region, profile) and retries calls on throttling only. The service modules
(:mod:`~basket_core.aws.s3`, :mod:`~basket_core.aws.glue`, :mod:`~basket_core.aws.athena`) take an
injected client, so tests hand them a client pointed at a local moto server.
"""
