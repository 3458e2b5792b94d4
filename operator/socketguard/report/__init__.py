"""Delivers located findings: `text` for people, `json` for scripts, `sarif` for code scanning."""
