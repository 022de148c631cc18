"""Where papers come from: the shipped snapshot, the refreshed library, feeds, and refresh."""
