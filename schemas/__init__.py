"""Message types shared by every layer: inbound events, recorded events, view rows."""
