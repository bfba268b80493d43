"""Loopback emulators of the provider APIs (one module per provider, each exporting
`EMULATOR`, an `providers.sandbox.Emulator` subclass)."""
