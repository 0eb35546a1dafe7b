"""Tests of the sandbox upstream (vsee_sandbox)."""
