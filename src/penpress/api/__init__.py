"""The JSON APIs: Penpress v1 and RealWorld (Conduit)."""
