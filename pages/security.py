"""/security : who tries to get in, from where, and what the defender banned."""
import dash

from components.security import security_page

dash.register_page(__name__, path="/security", name="Security",
                   title="SFTPGo activity · Security", order=1)


def layout(**_query):
    """Returns the page; callbacks/security.py fills it for the range."""
    return security_page()
