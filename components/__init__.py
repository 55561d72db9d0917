"""Pure layout builders, one module per panel; ``layout.page()`` assembles them."""
