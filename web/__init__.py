"""The supervisors' and staff's dashboard: cases, figures, weekly digests and the ledger, read-only."""
