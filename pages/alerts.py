"""/alerts : the alerts of the range, firing ones on top, then newest first; each links to
the events behind it (the audit trail filtered to them)."""
import dash

from components.alerts import alerts_page

dash.register_page(__name__, path="/alerts", name="Alerts", title="SFTPGo activity · Alerts",
                   order=4)


def layout(rule=None, state=None, **_query):
    """Returns the page with its filters as the query string gives them."""
    return alerts_page(rule=rule, state=state)
