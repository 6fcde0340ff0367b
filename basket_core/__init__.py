"""The ground every stage stands on: typed settings, dataset schemas, the results layout
(local and S3), rejection reasons, progress reporting, the JVM jar cache and one client
module per AWS service. Nothing here imports a stage."""

__version__ = "0.1.0"
