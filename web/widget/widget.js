// The web chat widget (docs/webchat.md).
