"""One module per rule (`sgNNN_name.py`), each defining `RULE` and a checker.

The module docstring is the rule's documentation, in three parts: What it checks, Why it
matters, How to fix (with an example). `socketguard explain` and `docs/rules.md` print it.
"""
