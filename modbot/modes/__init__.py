"""The ways modbot runs, on top of the pipeline.

daemon.py        `modbot run`: poll on an interval, sweep on a cron schedule, until stopped
sweep.py         `modbot sweep`: the backlog, resumable
report.py        `modbot report`, and the reports every mode writes (JSON; the summary)
report_html.py   the report as one self-contained HTML page (report.html its template)
demo.py          `modbot demo`: the whole bot on the embedded fake instance (demo_data/)
health.py        `modbot healthcheck`: the daemon's heartbeat
progress.py      a long command's progress and its clean stop on a signal
"""
