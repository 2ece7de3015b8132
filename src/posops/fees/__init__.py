"""Fees: regulated components, rate cards, a merchant's effective cost."""
