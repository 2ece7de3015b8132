"""Finding anything in the fleet: global search, the merchant page and the terminal list with presence."""
