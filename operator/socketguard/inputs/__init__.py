"""Inputs: manifests from files (with their positions) and Socket.IO events read from source code.

Everything here reads files; the engine reads only what these modules hand it.
"""
