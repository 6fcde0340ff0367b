"""Publishing stage: one local run uploaded to S3 with the same layout, verified, and the
manifest written last."""
