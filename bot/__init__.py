"""callquality: call-quality verdicts and charts in Slack."""

__version__ = "0.1.0"
