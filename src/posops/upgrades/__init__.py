"""Software upgrades: packages, compatibility, staged campaigns with a health gate."""
