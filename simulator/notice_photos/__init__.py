"""Photos of penalty notices made by software, with the truth of every field: for tests and the benchmark."""
