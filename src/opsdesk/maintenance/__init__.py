"""The Maintenance desk: tenants' repair requests from intake to a paid invoice."""
