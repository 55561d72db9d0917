"""Every component id of the page, prefixed by the panel that owns it."""

# page shell
URL = "page-url"
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

# date range
RANGE_PICKER = "range-picker"
RANGE_PRESET_7 = "range-preset-7"
RANGE_PRESET_30 = "range-preset-30"
RANGE_PRESET_YEAR = "range-preset-year"
RANGE_PRESET_ALL = "range-preset-all"
RANGE_MESSAGE = "range-message"
RANGE_TITLE = "range-title"           # the range in words (the kiosk's subtitle)

# headline figures: one value element per figure
HEADLINE_USERS = "headline-users"
HEADLINE_TRANSFERS = "headline-transfers"
HEADLINE_UPLOADED = "headline-bytes-uploaded"
HEADLINE_DOWNLOADED = "headline-bytes-downloaded"
HEADLINE_FAILED_TRANSFERS = "headline-failed-transfers"
HEADLINE_FAILED_LOGINS = "headline-failed-logins"

# graphs
GRAPH_TRANSFERS = "graph-user-transfers"
GRAPH_TRANSFERS_LOG = "graph-user-transfers-log"
GRAPH_BYTES = "graph-user-bytes"
GRAPH_AVERAGE = "graph-user-average"
GRAPH_DAYS = "graph-activities-by-day"
GRAPH_DAYS_TITLE = "graph-activities-title"

# users table
USERS_TABLE = "users-table"
