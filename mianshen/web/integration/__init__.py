"""The routes of integration with department and finance systems (mianshen/integration holds the
services they call): the department API, the finance exchange, the console's subscription and key
pages, SMS links in the portal, and the optional OIDC sign-in."""
