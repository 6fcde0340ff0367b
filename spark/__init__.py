"""Batch mining with Spark: load, clean, aggregate to baskets, FP-Growth, rules, write."""
