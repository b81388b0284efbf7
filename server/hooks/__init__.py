"""Git-host webhooks: verify a delivery's signature, then parse it into a Delivery."""
