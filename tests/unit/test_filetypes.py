"""Photo signatures: every type an inspection may attach is recognised by its bytes alone."""

from __future__ import annotations

import pytest

from services.inspection.inspections.service import ATTACHMENT_TYPES
from shared import filetypes

SAMPLES = {
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32),
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32),
    "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32),
    "image/heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(32),
    "application/pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(32),
}


def test_every_accepted_type_has_a_signature():
    assert set(filetypes.SIGNATURES) == set(ATTACHMENT_TYPES) == set(SAMPLES)


@pytest.mark.parametrize("media_type", sorted(SAMPLES))
def test_each_sample_is_its_own_type_and_no_other(media_type: str):
    assert filetypes.detect(SAMPLES[media_type]) == media_type
    assert [other for other in SAMPLES if filetypes.matches(other, SAMPLES[media_type])] == [media_type]


def test_heif_is_known_by_a_compatible_brand_and_other_iso_files_are_not():
    iphone = b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heicmiaf" + bytes(16)
    assert filetypes.matches("image/heic", iphone)
    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(16)
    assert not filetypes.matches("image/heic", mp4) and filetypes.detect(mp4) is None


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"<html><body>", b"RIFF\x00\x00\x00\x00WAVE" + bytes(8)])
def test_other_content_is_no_accepted_type(data: bytes):
    assert filetypes.detect(data) is None
    assert not any(filetypes.matches(media_type, data) for media_type in SAMPLES)
