"""Comparison models of the paper behind the engine's fit / sample interface."""
