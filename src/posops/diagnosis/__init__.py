"""Diagnosis: knowledge base, text understanding, Bayesian inference, cost-aware planning, learning."""
