"""Money in: marketplace order, refund and dispute events, fee plans, fund release."""
