"""What a photo's bytes are, by their signature: a body is kept only if it is what its Content-Type
says. Browsers and viewers sniff content, so an HTML page or a script uploaded as `image/jpeg`
would otherwise be served back from the register as evidence."""

from __future__ import annotations

HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)


def _is_heif(data: bytes) -> bool:
    """ISO base media: a `ftyp` box first, naming a HEIF brand as its major or a compatible one."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    size = int.from_bytes(data[:4], "big")
    box = data[8 : min(max(size, 16), 512)]
    brands = [box[0:4]] + [box[offset : offset + 4] for offset in range(8, len(box) - 3, 4)]
    return any(brand in HEIF_BRANDS for brand in brands)


SIGNATURES = {
    "image/jpeg": lambda data: data.startswith(b"\xff\xd8\xff"),
    "image/png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/webp": lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP",
    "image/heic": _is_heif,
    "application/pdf": lambda data: b"%PDF-" in data[:1024],  # readers allow a little junk first
}


def detect(data: bytes) -> str | None:
    """The media type the bytes are, among those with a signature here; None if none fits."""
    return next((media for media, matches in SIGNATURES.items() if matches(data)), None)


def matches(media_type: str, data: bytes) -> bool:
    check = SIGNATURES.get(media_type)
    return check is not None and check(data)
