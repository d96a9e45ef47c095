"""reportedly: a claim-provenance ledger that tells what is confirmed from what is only reported."""
