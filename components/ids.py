"""Every component id of the page, prefixed by the panel that owns it."""

# page shell
URL = "page-url"                      # the query string: the view's state (no reload)
NAV_URL = "page-nav-url"              # going to another page (the pages' router follows)
ROOT = "page-root"
MODE_STORE = "page-mode"              # {"kiosk": bool}

# live refresh
LIVE_INTERVAL = "live-interval"
LIVE_VERSION = "live-version"         # changes when ingestion stored something new
LIVE_TODAY = "live-today"             # {"today": "YYYY-MM-DD", "previous": ... }
LIVE_FRESHNESS = "live-freshness"
LIVE_PROGRESS = "live-progress"
LIVE_WAITING = "live-waiting"
LIVE_RATE = "live-rate"             # {"bytes_read", "at", "rate"}: backfill speed
LIVE_BANNER = "live-banner"
LIVE_STALE = "live-stale"             # the newest event's age when stale ('3 h'), else None
LIVE_NODES = "live-nodes"             # each node's health as the last tick read it (a list)
_drawn_type = "page-drawn"            # each drawing page's store {"version", "path"}: the
                                      # data version its figures show (a tick that finds it
                                      # behind asks again); one per page, so no two callbacks
                                      # write one store


def drawn_id(page: str) -> dict:
    """Returns the id of ``page``'s DRAWN store ('overview', 'security', 'user')."""
    return {"type": _drawn_type, "page": page}


def drawn_all() -> dict:
    """Returns the pattern of every page's DRAWN store (the one shown, or none)."""
    from dash import ALL
    return {"type": _drawn_type, "page": ALL}

TITLE_SINK = "page-title-sink"        # the browser tab's title is set from the page

# date range
RANGE_PICKER = "range-picker"
RANGE_PRESET_TODAY = "range-preset-today"
RANGE_PRESET_YESTERDAY = "range-preset-yesterday"
RANGE_PRESET_24H = "range-preset-24h"
RANGE_PRESET_7 = "range-preset-7"
RANGE_PRESET_30 = "range-preset-30"
RANGE_PRESET_YEAR = "range-preset-year"
RANGE_PRESET_ALL = "range-preset-all"
RANGE_MESSAGE = "range-message"
RANGE_NOTE = "range-note"             # where the default range starts, and why
RANGE_STORE = "range-store"           # {"spec": what the URL says, "start", "end": the days,
                                      #  "since", "until": a window's times (else None),
                                      #  "nodes": the node filter, "kiosk": the wall's default}
# RANGE_STORE's copy on a page whose callback also has inputs of the page's own: a callback
# may not mix inputs of the shell and of a page that is not shown
OVERVIEW_RANGE = "overview-range"      # {"range", "version", "mode"}
AUDIT_RANGE = "audit-range"
RANGE_TITLE = "range-title"           # the range in words (the kiosk's subtitle)

# nodes: the URL's node= filter (in RANGE_STORE), its picker, the stale warning, the panel
NODE_CONTROL = "node-control"         # the picker's box: shown when there are several nodes
NODE_PICKER = "node-picker"
NODE_MESSAGE = "node-message"         # a node= value that cannot be, or names no node
NODES_STALE = "nodes-stale"           # the warning naming the nodes that stopped ingesting
OVERVIEW_NODES = "overview-nodes"     # the node panel's place on the overview
OVERVIEW_NODES_IN = "overview-nodes-in"   # {"range", "nodes": LIVE_NODES}: the panel's inputs

# headline figures: one value element per figure
HEADLINE_USERS = "headline-users"
HEADLINE_TRANSFERS = "headline-transfers"
HEADLINE_UPLOADED = "headline-bytes-uploaded"
HEADLINE_DOWNLOADED = "headline-bytes-downloaded"
HEADLINE_FAILED_TRANSFERS = "headline-failed-transfers"
HEADLINE_FAILED_LOGINS = "headline-failed-logins"

# graphs
GRAPH_TRANSFERS = "graph-user-transfers"
GRAPH_TRANSFERS_SCALE = "graph-user-transfers-scale"   # y axis: auto, linear or log
GRAPH_BYTES_SCALE = "graph-user-bytes-scale"
GRAPH_AVERAGE_SCALE = "graph-user-average-scale"
GRAPH_DAYS_SCALE = "graph-activities-scale"
OVERVIEW_MESSAGE = "overview-message"  # the overview's figures could not be read
GRAPH_BYTES = "graph-user-bytes"
GRAPH_AVERAGE = "graph-user-average"
GRAPH_DAYS = "graph-activities-by-day"
GRAPH_DAYS_TITLE = "graph-activities-title"
PLAYLIST = "playlist-tick"

# users table
USERS_TABLE = "users-table"
USERS_CSV = "users-csv"

# pages: the navigation (a link per page) and the root of each page
NAV = "page-nav"
NAV_OVERVIEW = "page-nav-overview"
NAV_SECURITY = "page-nav-security"
NAV_USERS = "page-nav-users"
NAV_AUDIT = "page-nav-audit"
NAV_ALERTS = "page-nav-alerts"
PAGE_OVERVIEW = "page-overview"
PAGE_SECURITY = "page-security"
PAGE_USER = "page-user"
PAGE_AUDIT = "page-audit"
PAGE_NOT_FOUND = "page-not-found"
PAGE_ALERTS = "page-alerts"

# security page
SECURITY_FAILURES = "security-failures"
SECURITY_IPS = "security-ips"
SECURITY_USERNAMES = "security-usernames"
SECURITY_BANS = "security-bans"
SECURITY_DAYS = "security-graph-days"
SECURITY_DAYS_TITLE = "security-graph-days-title"
SECURITY_TOP_IPS = "security-top-ips"
SECURITY_TOP_USERNAMES = "security-top-usernames"
SECURITY_METHODS = "security-graph-methods"
SECURITY_PROTOCOLS = "security-graph-protocols"

# user page
USER_PICKER = "user-picker"
USER_TITLE = "user-title"
USER_HEADLINE = "user-headline"
USER_SEEN = "user-seen"
USER_DAYS = "user-graph-days"
USER_DAYS_TITLE = "user-graph-days-title"
USER_BYTES = "user-graph-bytes"
USER_BYTES_TITLE = "user-graph-bytes-title"
USER_DAYS_SCALE = "user-graph-days-scale"
USER_BYTES_SCALE = "user-graph-bytes-scale"
USER_DETAIL = "user-detail"           # /users/<name>: one user's part of the page
USERS_LISTING = "users-listing"       # /users: the list's part of the page
USERS_LIST = "users-list"             # /users: every user of the range
USERS_LIST_TITLE = "users-list-title"
USERS_LIST_DATA = "users-list-data"   # {"users": [...], "query": the range's query string}
USERS_SORT = "users-list-sort"        # {"by": column key, "desc": bool}
USER_PROTOCOLS = "user-protocols"
USER_IPS = "user-ips"
USER_RECENT = "user-recent"
USER_RETENTION = "user-retention"     # the notice when the raw parts reach past the retention

# audit page
AUDIT_USER = "audit-user"
AUDIT_KIND = "audit-kind"
AUDIT_IP = "audit-ip"
AUDIT_PROTOCOL = "audit-protocol"
AUDIT_FAILED = "audit-failed"
AUDIT_PATH = "audit-path"
AUDIT_TABLE = "audit-table"
AUDIT_NEWER = "audit-newer"
AUDIT_OLDER = "audit-older"
AUDIT_PAGING = "audit-paging"          # {"stack": [cursor of each page shown so far], "next"}
AUDIT_PAGE_INFO = "audit-page-info"
AUDIT_CSV = "audit-csv"
AUDIT_RETENTION = "audit-retention"   # the notice when the range reaches past the retention

# alerts: the header's count, the wall's list, the /alerts page
ALERTS_COUNT = "alerts-count"          # the header's link: how many are firing
ALERTS_WALL = "alerts-wall"            # the wall's list of firing (and recent) alerts
ALERTS_RULE = "alerts-rule"
ALERTS_STATE = "alerts-state"
ALERTS_TABLE = "alerts-table"
ALERTS_RULES = "alerts-rules"          # the rules in force, under the table
ALERTS_RANGE = "alerts-range"          # the page's copy of the range, version and tick
# insight (docs/insight.md): the overview's folders and hours, the security page's countries
# and plain-text logins, the users page's clients
INSIGHT_FOLDERS = "insight-folders"             # the folder table
INSIGHT_DEPTH = "insight-folders-depth"         # its depth control (1-8)
INSIGHT_FOLDERS_TITLE = "insight-folders-title"
INSIGHT_HOURS = "insight-graph-hours"           # weekday x hour heatmap
SECURITY_COUNTRIES = "security-graph-countries"
SECURITY_PLAINTEXT = "security-plaintext"       # the warning: logins without encryption
USERS_CLIENTS = "users-clients"                 # /users: the client families table
USERS_PLAINTEXT = "users-plaintext"             # /users: the plain-text logins' line
