"""Studies of the estimator that the shipped prediction does not use (run from the
repository root: ``python -m scripts.study.allocator_study ...``)."""
