"""What we say back, and how it leaves."""
