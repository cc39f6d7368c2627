"""The .fz file format: the container (headers, checks, versions) and mutations for fuzzing it."""
