"""Who may do what: API keys, roles and the permissions each role grants."""
