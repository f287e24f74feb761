"""The system's tooling, beside the four services rather than among them: the `shian` command
(`cli`), the launcher that runs the whole system on one machine, `shian status`, the demo county
and the README's generated reference tables (`docs`)."""
