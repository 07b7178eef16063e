"""Integration with department and finance systems: outbound signed webhooks, inbound department APIs."""
