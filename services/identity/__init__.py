"""Identity: accounts, sign-in, sessions and the keys that sign every Shian access token; the only
service that can mint a token."""
