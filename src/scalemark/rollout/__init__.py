"""Rollout plan: the five rollout stages per unit, their gates and the board."""
