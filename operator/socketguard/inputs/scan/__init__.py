"""Source scan: what JavaScript, TypeScript and Python code says about Socket.IO events and rooms.

`source.scan_paths` / `source.scan_source` parse with tree-sitter (the `scan` extra);
`events.events_from_scan` turns a result into the EventContract the rules read and needs no
parser, so the engine can import this package without the extra.
"""

from socketguard.inputs.scan.events import events_from_scan, split_by_role
from socketguard.inputs.scan.model import ScanResult

__all__ = ["ScanResult", "events_from_scan", "split_by_role"]
