"""Placeholder scans for the demo's uploads: a one-page PDF that says what it stands for, and a small grey JPEG.

Both are real files of their type (they pass the upload checks and open in a viewer), made here
so the demo needs no sample files.

>>> pdf("business licence").startswith(b"%PDF-1.4")
True
>>> JPEG[:3] == b"\\xff\\xd8\\xff"
True
"""

from __future__ import annotations

JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000"  # SOI, JFIF
    "ffdb0043" "00" + "01" * 64 +  # one quantisation table of ones
    "ffc0000b080008000801011100"  # baseline, 8 x 8 pixels, one grey component
    "ffc40014" "00" "01" + "00" * 15 + "00"  # DC table: the one code 0 means "no change"
    "ffc40014" "10" "01" + "00" * 15 + "00"  # AC table: the one code 0 means "end of block"
    "ffda0008010100003f00" "3f" "ffd9")  # one block of mid grey, end of image
"""An 8 x 8 mid-grey JPEG: stands for a phone photo of a document."""


def pdf(title: str) -> bytes:
    """A one-page PDF showing ``title`` (ASCII) and that it is a demo placeholder."""
    text = f"posops demo - {title} (placeholder)".encode("ascii").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 14 Tf 36 160 Td (" + text + b") Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 298] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, start)
    return bytes(out)
