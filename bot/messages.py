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

NOT_IN_CHANNEL = (
    ":wave: I can't post in this channel yet. Invite me with `/invite @{bot}` "
    "and run the command again."
)

CHART_FAILED = ":warning: The chart could not be drawn (request id `{request_id}`)."
UPLOAD_FAILED = ":warning: The chart could not be uploaded to this thread; try `refresh`."

HEADER = "Call quality · {who}"
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

FOLLOWUP_HELP = (
    "*Ask in this thread* (no need to mention me):\n"
    "• `audio` / `video`: the figures for that media, send and receive\n"
    "• `network`: connection type, relay, transport, location\n"
    "• `device`: device, OS, browser and SDK\n"
    "• `events`: joins, leaves, reconnects, device changes\n"
    "• `raw`: the normalized report as a JSON file\n"
    "• `chart <metric>`: one metric, or one media, over time ({metrics})\n"
    "• `last 10m` or `window <from> <to>`: look again over another window, once (the other "
    "answers here keep to the thread's own window)\n"
    "• `refresh`: look again now\n"
    "• `compare <ids>`: another participant of the same provider, side by side (ids within "
    "this thread's call or session are enough)"
)
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
FIELD_TIME = "*Joined*"
RELAYED = "relayed via TURN"
DIRECT = "direct (no relay)"
UNKNOWN_VALUE = "unknown"

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
