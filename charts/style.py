"""Sizes and colours shared by every part of a chart.

Figure sizes are in inches at `DPI`, so `WIDTH_IN` fixes the PNG's pixel width. Grade colours
match the verdict's words; band colours go good, fair, poor in the order panels list bands.
"""

from __future__ import annotations

from bot.grading import Grade
from providers.models import Direction, EventKind, Media

DPI = 100
WIDTH_IN = 12.0  # 1200 px: Slack's preview width
COMPARE_WIDTH_IN = 15.0
PANEL_IN = 1.6
HEADER_IN = 1.45
FOOTER_IN = 0.55

GRADE_COLOURS = {
    Grade.GOOD: "#2e9e44",
    Grade.FAIR: "#d9a400",
    Grade.POOR: "#d62728",
    Grade.UNKNOWN: "#8c8c8c",
}
LIMITED_COLOUR = "#4a7fb5"  # a Good over partial data: not the green of a full Good
BAND_COLOURS = ("#2e9e44", "#f2c200", "#d62728")  # good, fair, poor
BAND_ALPHA = 0.10
MEDIA_COLOURS = {
    Media.AUDIO: "#1f5fbf",
    Media.VIDEO: "#8e3fb0",
    Media.SCREEN_AUDIO: "#17a2b8",
    Media.SCREEN_VIDEO: "#a0522d",
    Media.CONNECTION: "#333333",
}
DIRECTION_STYLES = {Direction.SEND: "-", Direction.RECEIVE: "--"}
EVENT_STYLES = {  # kind -> (short label, colour)
    EventKind.JOIN: ("join", "#555555"),
    EventKind.LEAVE: ("leave", "#555555"),
    EventKind.RECONNECT: ("reconnect", "#d2691e"),
    EventKind.DEVICE_CHANGE: ("device", "#1f77b4"),
    EventKind.WARNING: ("warning", "#b8860b"),
}
LIMITATION_COLOURS = {"cpu": "#9e9e9e", "bandwidth": "#f4a460"}
