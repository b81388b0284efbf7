"""Infrastructure adapters of ``ledgerd``: settings, persistence and its locks, the cipher,
checkpoint signing, promotion claims, TLS, the token directory, and the fan-out of projected
events. The entry points and the composition root use them; the domain never does."""
