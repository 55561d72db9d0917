"""/audit : the events, filtered as the query string says (user, kind, ip, protocol,
failed, path), a page at a time."""
import dash

from components.audit import audit_page

dash.register_page(__name__, path="/audit", name="Audit", title="SFTPGo activity · Audit",
                   order=3)


def layout(user=None, kind=None, ip=None, protocol=None, failed=None, path=None, **_query):
    """Returns the page with its filters as the query string gives them."""
    return audit_page(user=user, kinds=kind, ip=ip, protocol=protocol, failed=failed, path=path)
