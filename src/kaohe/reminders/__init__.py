"""Reminders (提醒): who has a step due — self-review, supervisor review, appeal answers and
resolutions, feedback meetings — told in Chinese over 企业微信 and 钉钉 group robots and
e-mail, at most once a day, each delivery in the audit log.

``config`` reads the channels; ``due`` finds the reminders from the workflow's deadlines;
``messages`` words them; ``channels`` delivers (with bounded retries); ``send`` claims,
delivers and records them.
"""
