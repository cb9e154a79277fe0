"""Benchmarks of the product: each is run as a module from the project root (see benchmarks/README.md)."""
