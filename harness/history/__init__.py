"""harness history: the key scenarios' figures of nightly runs night after night, the
steps where their level changed (harness.history.steps), as one static page
(harness.history.page) laid out by the report's templates (harness.report.render_html)."""
