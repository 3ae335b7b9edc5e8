"""Bank accounts: sellers' accounts at their banks, validated per format (IBAN, ABA, UK, Zengin),
encrypted at rest, masked everywhere else, held for a cool-down after each addition."""
