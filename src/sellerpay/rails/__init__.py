"""Rails: pure adapters to banks and providers (SEPA, ACH, Zengin, UK, provider API)."""
