"""The home page at /: what each role has to do today, with the figures that lead to the lists."""
