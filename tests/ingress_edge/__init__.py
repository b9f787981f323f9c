"""Edge protections of the ingress: replay, IP rules, rate limits, TLS, provisioning, limits."""
