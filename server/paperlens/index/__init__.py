"""The paper index."""
