"""The weekly high-frequency complaint digest and the supervision ledger (督办台账), seed measures 5 and 11."""
