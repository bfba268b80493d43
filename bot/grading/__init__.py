"""Grading: a normalized Report in, a Verdict out. Pure: no Slack, no HTTP.

`grade(report)` is the entry point; `estimate_mos` is the ITU-T G.107 E-model. The types it
returns (Grade, Finding, Episode, Verdict) and the thresholds and media words that charts draw
with are exported here, so nothing outside the package imports its modules.
"""

from bot.grading.attribution import attribute, between, receive_problems
from bot.grading.causes import root_of
from bot.grading.emodel import estimate_mos, estimated_mos
from bot.grading.thresholds import (
    HEIGHT_GOOD_PX,
    JITTER_FAIR_MS,
    JITTER_POOR_MS,
    LOSS_FAIR_PCT,
    LOSS_POOR_PCT,
    MOS_GOOD,
    MOS_POOR,
    RTT_FAIR_MS,
    RTT_POOR_MS,
    SCORE_MAX,
)
from bot.grading.types import Episode, EpisodeKind, Finding, Grade, Verdict
from bot.grading.verdict import grade
from bot.grading.words import MEDIA_WORDS

__all__ = [
    "HEIGHT_GOOD_PX",
    "JITTER_FAIR_MS",
    "JITTER_POOR_MS",
    "LOSS_FAIR_PCT",
    "LOSS_POOR_PCT",
    "MEDIA_WORDS",
    "MOS_GOOD",
    "MOS_POOR",
    "RTT_FAIR_MS",
    "RTT_POOR_MS",
    "SCORE_MAX",
    "Episode",
    "EpisodeKind",
    "Finding",
    "Grade",
    "Verdict",
    "attribute",
    "between",
    "estimate_mos",
    "estimated_mos",
    "grade",
    "receive_problems",
    "root_of",
]
