"""The scheduler: applies changes scheduled for a time (`clientcard worker`, and a thread of
`clientcard serve`). A use case above the domains it uses; no domain imports it."""
