"""Every sentence the bot says to a user, in one place.

Functions take already-escaped values where they interpolate user or provider text; the
renderers in `bot.render` do the escaping.
"""

from __future__ import annotations

BOT_NAME = "callquality"

LOOKING_UP = ":hourglass_flowing_sand: Looking up {command}…"
BUSY = ":construction: Too many lookups are running right now; try again in a minute."
TIMED_OUT = (
    ":hourglass: The lookup for {command} took longer than {seconds:.0f} s and was stopped. "
    "The provider may be slow; try again in a minute."
)
APOLOGY = (
    ":warning: Sorry, something went wrong while answering {command}. "
    "Please mention request id `{request_id}` when you report it."
)
SLACK_RATE_LIMITED = (
    ":warning: Slack kept rate limiting my messages, so the answer to {command} could not be "
    "posted. Try again in a minute."
)
PROVIDER_ERROR = ":warning: {message}"
BAD_INPUT = ":warning: {message}"
RATE_LIMITED_SUFFIX = " Try again in {seconds} s."
TRY_AGAIN_LATER = " Try again in a few minutes."
ANSWERED = ":white_check_mark: Answered {command}: <{link}|open the answer>"

NOT_IN_CHANNEL = (
    ":wave: I can't post in this channel yet. Invite me with `/invite @{bot}` "
    "and run the command again."
)

CHART_FAILED = ":warning: The chart could not be drawn (request id `{request_id}`)."
UPLOAD_FAILED = ":warning: The chart could not be uploaded to this thread; try `refresh`."

HEADER = "Call quality · {who}"
AND_MORE = " and {more} more"
ALSO_AFFECTED = "Also affected: {names}."
NOT_REPORTED = "{label} does not report: {names}."
ASKED_BY = "Asked by <@{user}>"
CALL_AT = "call {date}"
WINDOW = "window {window}"
REQUEST = "request `{request_id}`"
LISTING_HEADER = "{title}"
LISTING_EMPTY = "No participants found."
LISTING_MORE = "…and {more} more."
LISTING_PICK = "Run one of these to grade a participant:"

ALL_FINDINGS = "*All findings*"
STAYED_GOOD = "Stayed good: {names}."
NO_FINDINGS = "Nothing stood out: every graded metric was within normal range."
UNKNOWN = "*Could not grade*"
EVENTS = "*Events*"
NO_EVENTS = "No events were reported."
NOTES = "*Notes*"
DETAILS_TITLE = "Details for {who}"
CHART_TITLE = "Call quality of {who}"
CHART_ALT = "Time series of the call quality metrics of {who}: {headline}"
COMPARE_CHART_TITLE = "{a} vs {b}"
COMPARE_CHART_ALT = (
    "Side-by-side time series of the call quality of {a} and {b}, same scales. {a}: {head_a}. "
    "{b}: {head_b}."
)
FOCUS_CHART_TITLE = "{what} of {who}"
FOCUS_CHART_ALT = "Time series of the {what} of {who}: {said}"

FOLLOWUP_HELP = (
    "*Ask in this thread* (no need to mention me), or use the buttons on the card:\n"
    "• `audio` / `video`: that media's problems with their times, then its figures\n"
    "• `network`: connection type, relay, transport (location only to you)\n"
    "• `device`: device, OS, browser and SDK\n"
    "• `events`: joins, leaves, reconnects, device changes\n"
    "• `raw`: the normalized report as a JSON file\n"
    "• `chart <metric>`: one metric, or one media, over time ({metrics})\n"
    "• `last 10m` or `window <from> <to>`: the card and its chart switch to that window\n"
    "• `refresh`: look again now; the card and its chart are updated in place\n"
    "• `compare <ids>`: another participant of the same provider, side by side (ids within "
    "this thread's call or session are enough)\n"
    "• `glossary`: what MOS, jitter, RTT, send/receive and TURN mean"
)
THREAD_WORDS = (
    "Ask here, no mention needed: `audio` `video` `network` `device` `events` `chart <metric>` "
    "`compare <ids>` `last 10m` `refresh` `raw` `glossary` · `help` explains each · or use the "
    "buttons on the card."
)
NOT_UNDERSTOOD = (
    "I did not understand {text}. In this thread I answer `audio`, `video`, `network`, "
    "`device`, `events`, `chart <metric>`, `compare <ids>`, `last 10m`, `refresh`, `raw` and "
    "`glossary`; `help` explains each."
)
GLOSSARY_TITLE = "*What the words mean*"
GLOSSARY = {
    "mos": "*MOS* (mean opinion score): call quality on a 1-5 scale; 4 or more is good, "
    "below 3.1 is poor.",
    "jitter": "*Jitter*: how unevenly packets arrive, in ms; above 30 ms audio starts to break up.",
    "rtt": "*RTT* (round-trip time): how long a packet takes there and back, in ms; above "
    "400 ms people talk over each other.",
    "loss": "*Packet loss*: the share of packets that never arrived; above 5 % audio and video "
    "break up.",
    "send": "*Send / receive*: what this participant published (its uplink) / what it got from "
    "the others (its downlink, or the senders' uplinks).",
    "turn": "*TURN relay*: media went through a relay server instead of directly, usually "
    "because of a firewall; it adds delay, more so over TCP.",
}
GLOSSARY_WORDS = {  # words in a question -> glossary entry
    "mos": "mos",
    "quality": "mos",
    "score": "mos",
    "jitter": "jitter",
    "rtt": "rtt",
    "latency": "rtt",
    "round-trip": "rtt",
    "delay": "rtt",
    "loss": "loss",
    "send": "send",
    "receive": "send",
    "uplink": "send",
    "downlink": "send",
    "turn": "turn",
    "relay": "turn",
    "relayed": "turn",
}
FIGURES = "*Figures*"
NO_NETWORK_FACTS = "The provider reported nothing about the network."
NO_DEVICE_FACTS = "The provider reported nothing about the device."
PRIVATE_NETWORK = ":lock: *Only you can see this* (`SHOW_LOCATION=true` shows it in the channel):"

BUTTON_REFRESH = "Refresh"
BUTTON_AUDIO = "Audio"
BUTTON_VIDEO = "Video"
BUTTON_NETWORK = "Network"
BUTTON_COMPARE = "Compare…"
BUTTON_GLOSSARY = "What do these mean?"
BUTTON_OPEN = "Open in {label}"
COMPARE_TITLE = "Compare"
COMPARE_SUBMIT = "Compare"
COMPARE_LABEL = "The other participant"
COMPARE_PLACEHOLDER = "its ids, as in a command"
COMPARE_HINT = "Ids within this thread's call or session are enough (a user id, a participant id)."
COMPARE_EMPTY = "Type the other participant's ids."

CHANGE_REFRESH = ":arrows_counterclockwise: Refreshed by <@{user}> at {when}: {change}."
CHANGE_WINDOW = ":arrows_counterclockwise: Window {window}, by <@{user}>: {change}."
WAS_NOW = "was {old}, now {new}"
STILL = "still {new}"
NOW = "now {new}"
CARD_UPDATED = "{change} <{link}|The card> and its chart are updated."

UNKNOWN_METRIC = "I can't chart `{word}`. Try one of: {metrics}."
NO_SUCH_MEDIA = "No {media} figures were reported for this participant."
NO_REPORT_IN_THREAD = (
    "This thread lists participants, not one participant's call: run one of the commands above."
)
WINDOW_UNSUPPORTED = "{label} lookups do not take a time window."
WINDOW_REJECTED = "That window did not work: {message}"
WINDOW_HOWTO = (
    "write `last 10m`, or `window <from> <to>` with ISO-8601 times such as "
    "`window 2026-11-20T14:00:00Z 2026-11-20T14:30:00Z`."
)
COMPARE_OTHER_PROVIDER = "Compare needs ids of the same provider ({label})."
RAW_TITLE = "Normalized report (IP address removed)"

DIRECTION_WORD = {"send": "sent", "receive": "received"}

FIELD_NAME = "*Participant*"
FIELD_DEVICE = "*Device*"
FIELD_NETWORK = "*Network*"
FIELD_LOCATION = "*Location*"
FIELD_PATH = "*Media path*"
FIELD_TIME = "*In the call*"
RELAYED = "relayed via TURN"
DIRECT = "direct (no relay)"

CONTEXT = "{label} · {command}{window} · request `{request_id}`"

WEBHOOKS_OFF = "Webhooks are off: set ALERT_CHANNEL to the channel that should get poor calls."

# For the operator running `callquality serve` (terminal, not Slack).
MISSING_SLACK_SETTINGS = "Missing Slack settings for {mode}: set {names}{hint}."
SOCKET_MODE_HINT = " (or set SLACK_APP_TOKEN with SLACK_BOT_TOKEN for Socket Mode)"
TOKEN_REJECTED = "Slack rejected SLACK_BOT_TOKEN (auth.test failed): check the bot token."
SLACK_UNREACHABLE = "Could not reach Slack at {url} to verify SLACK_BOT_TOKEN ({error})."


def rate_limited(seconds: float | None) -> str:
    return RATE_LIMITED_SUFFIX.format(seconds=max(1, round(seconds))) if seconds else ""


# For the operator's log (one line each; nothing the sender wrote is quoted).
REQUEST_REFUSED = "refused a request to /slack/events: {reason} (HTTP {status})"
DISPATCH_FAILED = "handling a Slack request failed"
REPEATED_DELIVERY = "ignored a repeated delivery ({kind} already answered)"
