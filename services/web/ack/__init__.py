"""The acknowledgement links of alerts' messages, served on the web app's origin (phones reach
the web app only): a relay of alerts' own page, without a session."""
