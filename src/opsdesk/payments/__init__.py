"""Payments: the gateway interface both desks pay through, and the built-in ledger gateway
(charges and refunds for orders, payouts to vendors for maintenance requests)."""
