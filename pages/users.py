"""/users/<name> : one user's figures (and /users: pick one)."""
import dash

from components.users import user_page

dash.register_page(__name__, path="/users", path_template="/users/<name>", name="Users",
                   title="SFTPGo activity · Users", order=2)


def layout(**_query):
    """Returns the page; callbacks/users.py reads the name from the path itself (a query
    parameter called name must not stand in for it)."""
    return user_page()
