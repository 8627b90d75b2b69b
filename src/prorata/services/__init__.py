"""Use cases, one module each: a frozen command and one function taking it with the unit of work and the ports."""
