"""Users, sessions, single sign-on, memberships, guards, API tokens and the audit log."""
