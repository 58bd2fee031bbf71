"""Human names of the codecs a show's video comes in, from FFmpeg's codec name and fourcc."""

from __future__ import annotations

from dataclasses import dataclass

PRORES_FLAVOURS: dict[str, str] = {
    "apco": "ProRes 422 Proxy",
    "apcs": "ProRes 422 LT",
    "apcn": "ProRes 422",
    "apch": "ProRes 422 HQ",
    "ap4h": "ProRes 4444",
    "ap4x": "ProRes 4444 XQ",
}
HAP_FLAVOURS: dict[str, str] = {
    "Hap1": "HAP",
    "Hap5": "HAP Alpha",
    "HapY": "HAP Q",
    "HapM": "HAP Q Alpha",
    "HapA": "HAP Alpha-Only",
    "Hap7": "HAP R",
}
CODEC_NAMES: dict[str, str] = {
    "prores": "ProRes",
    "hap": "HAP",
    "h264": "H.264",
    "hevc": "HEVC (H.265)",
    "av1": "AV1",
    "vp9": "VP9",
    "mjpeg": "Motion JPEG",
    "dnxhd": "DNxHD/DNxHR",
    "png": "PNG",
    "qtrle": "QuickTime Animation",
}


@dataclass(frozen=True)
class CodecInfo:
    """What the video is encoded with: FFmpeg's codec name, the container's fourcc, and the
    name a technician knows it by (\"ProRes 422 HQ\")."""

    codec_name: str
    fourcc: str
    description: str


def fourcc_text(codec_tag: str | int) -> str:
    """The fourcc as four characters; PyAV gives a string, older builds an integer tag."""
    if isinstance(codec_tag, str):
        return codec_tag
    return bytes((codec_tag >> shift) & 0xFF for shift in (0, 8, 16, 24)).decode("latin-1")


def describe(codec_name: str, fourcc: str) -> CodecInfo:
    """The flavour for ProRes and HAP (the fourcc says which), the codec's name otherwise."""
    description = (
        PRORES_FLAVOURS.get(fourcc)
        or HAP_FLAVOURS.get(fourcc)
        or CODEC_NAMES.get(codec_name)
        or codec_name
    )
    return CodecInfo(codec_name=codec_name, fourcc=fourcc, description=description)
