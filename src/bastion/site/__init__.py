"""Site-as-code: the strict, versioned model of a facility and its zone/door graph."""
