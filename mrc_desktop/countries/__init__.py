"""Country profiles, corridor rules and the recruitment-fee checker (Qt-free)."""
