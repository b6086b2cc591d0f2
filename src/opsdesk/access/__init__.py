"""Who may use Ops Desk: ops staff (users with a role, signed in by password, one-time link
or OpenID Connect) and machine clients (API tokens scoped to a role), and the sessions that
remember a signed-in browser. Stores only; the web kit decides what each route requires."""
