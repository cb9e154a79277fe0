"""Benchmarks that run inside Rasa's own environment (`rasa-env/.venv/bin/python -m benchmarks.rasa_env.…`).

They import Rasa, the standard library and benchmarks.common only: nothing of the product, whose Python differs.
"""
