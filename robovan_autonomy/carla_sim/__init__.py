"""CARLA simulator support: unit and frame conversions, the client connection."""
