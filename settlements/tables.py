"""Monthly statements and payouts (issue 5)."""
