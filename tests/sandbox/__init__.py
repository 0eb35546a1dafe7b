"""Tests of the sandbox upstream (gateway.sandbox)."""
